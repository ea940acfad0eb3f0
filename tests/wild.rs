mod common;
use common::*;

// Feeds as they come from the wild (issue 13): legacy charsets labelled rightly, wrongly or
// not at all, and documents feed-rs does not read as they are. Each is served over real HTTP
// with a real Content-Type, polled through the real pipeline into a real store, and checked
// as a subscriber of the merged feed sees it, and as `newswire feeds` / `/status` report it.

use encoding_rs::Encoding;
use newswire::publish::{self, MergedEntry, View};

/// One story per charset, in a language written in it: a title, an author and a body long
/// enough (two sentences) for detection to have something to go on, as a real item would.
const STORIES: &[(&str, &str, &str, &str)] = &[
    (
        "windows-1252",
        "Governo anuncia redução de impostos para exportação de café",
        "João Conceição",
        "O ministério da Fazenda afirmou nesta terça-feira que a medida começará a valer em março. \
         Produtores de São Paulo e Minas Gerais comemoraram a decisão, “histórica”, que ainda depende do Congresso.",
    ),
    (
        "ISO-8859-1",
        "Les élèves français découvrent la bibliothèque numérique",
        "Hélène Lefèvre",
        "À la rentrée, les collèges de Lyon et de Marseille proposeront des ressources éducatives gratuites. \
         Le ministère a précisé que l'accès sera réservé aux établissements publics de la région.",
    ),
    (
        "ISO-8859-15",
        "Le menu à 15 € : œufs mollets, pâtés et bœuf bourguignon",
        "Zoé Lefèvre",
        "Le restaurant du quartier propose désormais un menu complet à 15 €. \
         Les critiques saluent la qualité des œufs et du bœuf, servis avec une crème brûlée maison.",
    ),
    (
        "windows-1251",
        "Правительство утвердило новый бюджет на следующий год",
        "Иван Петров",
        "Министр финансов заявил, что расходы на образование и здравоохранение вырастут. \
         Депутаты обсудят документ на заседании в четверг, после чего его подпишет президент.",
    ),
    (
        "KOI8-R",
        "В Москве открылась выставка современного искусства",
        "Анна Смирнова",
        "Организаторы ожидают более ста тысяч посетителей. \
         Экспозиция продлится до конца месяца и займёт три зала музея на набережной.",
    ),
    (
        "Shift_JIS",
        "東京で新しい図書館が開館しました",
        "山田太郎",
        "市民からは歓迎の声が上がっています。館内には約十万冊の本が並び、子ども向けのコーナーも設けられました。",
    ),
    (
        "GB18030",
        "北京市发布新的交通管理措施",
        "王小明",
        "市政府表示，新措施将于下月起实施，旨在缓解高峰时段的交通拥堵。市民可以通过官方网站查询详细信息。",
    ),
    (
        "EUC-KR",
        "서울시, 대중교통 요금 인상 발표",
        "김민수",
        "서울시는 다음 달부터 지하철과 버스 요금을 인상한다고 밝혔습니다. 시민들의 의견을 수렴한 결과라고 설명했습니다.",
    ),
];

/// How a document is labelled: (name, what the XML declaration names, the Content-Type's
/// charset, whether the label is wrong so that the feed's state must say so).
const LABELLINGS: &[(&str, Option<&str>, Option<&str>, bool)] = &[
    ("both", Some("own"), Some("own"), false),
    ("declared", Some("own"), None, false),
    ("header", None, Some("own"), false),
    ("unlabelled", None, None, false),
    ("declared-utf8", Some("UTF-8"), None, true),
    ("header-utf8", None, Some("utf-8"), true),
    ("both-utf8", Some("UTF-8"), Some("UTF-8"), true),
];

fn slug(s: &str) -> String {
    s.to_ascii_lowercase().replace('_', "-")
}

/// The document for `charset` under one labelling, encoded from UTF-8 source text with
/// encoding_rs, and the Content-Type it is served with.
fn legacy_feed(
    charset: &str,
    labelling: &(&str, Option<&str>, Option<&str>, bool),
) -> (Vec<u8>, String) {
    let (_, title, author, body) = STORIES.iter().find(|s| s.0 == charset).unwrap();
    let (name, declared, header, _) = labelling;
    let label = |l: &str| {
        if l == "own" {
            charset.to_string()
        } else {
            l.to_string()
        }
    };
    let decl = declared
        .map(|d| format!("<?xml version=\"1.0\" encoding=\"{}\"?>\n", label(d)))
        .unwrap_or_default();
    let base = format!("https://{}.example/{name}", slug(charset));
    let xml = format!(
        "{decl}<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>{title}</title><link>{base}/</link>\
         <item><guid>{base}/1</guid><link>{base}/1</link><title>{title}</title><dc:creator>{author}</dc:creator>\
         <description>{body}</description><pubDate>Mon, 02 Jun 2025 10:00:00 +0000</pubDate></item>\
         </channel></rss>"
    );
    let encoding = Encoding::for_label(charset.as_bytes()).unwrap();
    // ISO-8859-1 is windows-1252 to encoding_rs (as to browsers): the same bytes for this text
    let (bytes, _, unmappable) = encoding.encode(&xml);
    assert!(!unmappable, "{charset}: the story is not all {charset}");
    let ct = match header {
        Some(h) => format!("application/rss+xml; charset={}", label(h)),
        None => "application/rss+xml".to_string(),
    };
    (bytes.into_owned(), ct)
}

fn feed_name(charset: &str, labelling: &str) -> String {
    format!("{}-{labelling}", slug(charset))
}

/// The entries of one feed in the merged output, every copy.
fn entries_of(env: &TestEnv, feed: &str) -> Vec<MergedEntry> {
    env.merged(&View {
        feed: Some(feed.to_string()),
        all_copies: true,
        ..Default::default()
    })
    .entries
}

/// What `newswire feeds` and `/status` say of each feed: (state, last error).
fn states(env: &TestEnv) -> std::collections::HashMap<String, (String, Option<String>)> {
    publish::feed_statuses(&env.store(), &env.config(), chrono::Utc::now())
        .unwrap()
        .into_iter()
        .map(|s| (s.name, (s.state.to_string(), s.last_error)))
        .collect()
}

/// No replacement character in any output a subscriber reads.
fn assert_no_replacement_characters(env: &TestEnv) {
    let merged = env.merged(&View {
        all_copies: true,
        limit: Some(10_000),
        ..Default::default()
    });
    for e in &merged.entries {
        let fields = [Some(&e.title), e.summary.as_ref(), e.content.as_ref()];
        for f in fields.into_iter().flatten().chain(&e.authors) {
            assert!(!f.contains('\u{fffd}'), "U+FFFD in {f:?}");
        }
    }
    for out in [
        publish::atom::render(&merged, None),
        publish::rss::render(&merged, None),
        publish::json::render(&merged, None),
    ] {
        assert!(!out.contains('\u{fffd}'));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_legacy_charset_is_read_however_it_is_labelled() {
    let server = FixtureServer::start().await;
    let mut toml = String::new();
    for (charset, ..) in STORIES {
        for l in LABELLINGS {
            let path = format!("/{}/{}.xml", slug(charset), l.0);
            let (body, ct) = legacy_feed(charset, l);
            server.set(&path, Route::feed(&ct, body));
            toml.push_str(&format!(
                "[[feed]]\nname = \"{}\"\nurl = \"{}\"\n\n",
                feed_name(charset, l.0),
                server.url(&path)
            ));
        }
    }
    let env = TestEnv::new(&toml);
    for s in env.poll().await {
        assert!(!s.failed(), "{s}");
    }
    let states = states(&env);
    let mut wrong = Vec::new();
    for (charset, title, author, body) in STORIES {
        for (labelling, _, _, mislabelled) in LABELLINGS {
            let name = feed_name(charset, labelling);
            let entries = entries_of(&env, &name);
            let Some(e) = entries.first() else {
                wrong.push(format!("{name}: no entry"));
                continue;
            };
            let summary = e.summary.as_deref().unwrap_or_default();
            let want_body = body.split_whitespace().collect::<Vec<_>>().join(" ");
            if e.title != *title || e.authors != [*author] || summary != want_body {
                wrong.push(format!(
                    "{name}: title {:?}, authors {:?}, summary {summary:?}",
                    e.title, e.authors
                ));
            }
            let (state, error) = &states[&name];
            let said = error.as_deref().unwrap_or_default();
            let expected_state = if *mislabelled { "recovered" } else { "ok" };
            if state != expected_state
                || (*mislabelled && !said.contains("as UTF-8, but parsed as"))
            {
                wrong.push(format!("{name}: state {state}, error {error:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_no_replacement_characters(&env);
}

/// An RSS 2.0 item, written as the feeds below write theirs.
fn item(n: usize, extra: &str) -> String {
    format!(
        "<item><title>Story {n}</title><link>https://nyc.example/{n}.html</link>\
         <guid>https://nyc.example/{n}.html</guid><pubDate>Mon, 02 Jun 2025 {:02}:00:00 +0000</pubDate>\
         <description>Body of story {n}.</description>{extra}</item>\n",
        n % 24
    )
}

/// The documents of the classes the issue lists, modelled on what the sites it names serve.
fn faulty_feeds() -> Vec<(&'static str, &'static str, String)> {
    let media = "xmlns:media=\"http://search.yahoo.com/mrss/\"";
    // a New York newspaper: 33 items, one of them with an empty <media:description/>
    let newspaper = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\" {media}><channel><title>Metro Daily</title>\
         <link>https://nyc.example/</link>{}</channel></rss>",
        (1..=33)
            .map(|n| item(
                n,
                &format!(
                    "<media:content url=\"https://nyc.example/{n}.jpg\" medium=\"image\">{}</media:content>",
                    if n == 7 {
                        "<media:description/>".to_string()
                    } else {
                        format!("<media:description>Photo {n}</media:description>")
                    }
                )
            ))
            .collect::<String>()
    );
    // a German tech news site: RDF in the RSS 0.90 namespace
    let rss090 = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
        <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://my.netscape.com/rdf/simple/0.9/\">\
        <channel><title>Technik Ticker</title><link>https://tech.example.de/</link><description>Nachrichten</description></channel>\
        <item><title>Neuer Prozessor für Rechenzentren vorgestellt</title><link>https://tech.example.de/meldung/1</link></item>\
        <item><title>Größere Speicher für Smartphones</title><link>https://tech.example.de/meldung/2</link></item>\
        </rdf:RDF>"
        .to_string();
    // a Ukrainian broadcaster: a default namespace on <rss>
    let default_ns = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
        <rss xmlns=\"https://cyber.harvard.edu/rss/rss.html\" version=\"2.0\"><channel><title>Радіо Новини</title>\
        <link>https://radio.example.ua/</link>\
        <item><title>Уряд ухвалив нову програму</title><link>https://radio.example.ua/news/1</link>\
        <pubDate>Tue, 03 Jun 2025 08:30:00 +0300</pubDate></item>\
        <item><title>Погода на вихідні</title><link>https://radio.example.ua/news/2</link>\
        <pubDate>Tue, 03 Jun 2025 09:00:00 +0300</pubDate></item></channel></rss>"
        .to_string();
    // a video site: lowercase <pubdate>
    let lowercase = "<rss version=\"2.0\"><channel><title>Clips</title><link>https://video.example/</link>\
        <item><title>Clip one</title><link>https://video.example/v/1</link><pubdate>Wed, 04 Jun 2025 12:00:00 GMT</pubdate></item>\
        </channel></rss>"
        .to_string();
    // a podcast: no <link>, a <guid> that is a URL (and one that says it is not a permalink)
    let podcast = "<rss version=\"2.0\"><channel><title>Talk Show</title><link>https://pod.example/</link>\
        <item><title>Episode 12</title><guid>https://pod.example/episodes/12</guid>\
        <enclosure url=\"https://cdn.pod.example/12.mp3\" type=\"audio/mpeg\" length=\"1\"/></item>\
        <item><title>Episode 11</title><guid isPermaLink=\"false\">https://pod.example/episodes/11</guid></item>\
        </channel></rss>"
        .to_string();
    // a company blog: Atom-style authors inside RSS items; a French desk: «mail» authors
    let authors = "<rss version=\"2.0\"><channel><title>Desk</title><link>https://desk.example/</link>\
        <item><title>Atom author</title><link>https://desk.example/1</link><author><name>Priya Raman</name><title>Engineer</title></author></item>\
        <item><title>Guillemets</title><link>https://desk.example/2</link><author>Jean Dupont \u{ab}jean@desk.example\u{bb}</author></item>\
        <item><title>Plain</title><link>https://desk.example/3</link><author>desk@desk.example (The Desk)</author></item>\
        </channel></rss>"
        .to_string();
    // not well-formed: a bare ampersand, an HTML entity; and one item broken twice over
    let bad = "<author>A \u{ab}a@b.example\u{bb}</author>";
    let sloppy = format!(
        "<rss version=\"2.0\"><channel><title>Ben & Jerry&apos;s&nbsp;News</title><link>https://sloppy.example/</link>\
         <item><title>Fish & chips&nbsp;&mdash; a review</title><link>https://sloppy.example/1?a=1&b=2</link></item>\
         <item><title>Broken twice</title><link>https://sloppy.example/2</link>{bad}{bad}</item>\
         <item><title>Still here</title><link>https://sloppy.example/3</link></item>\
         </channel></rss>"
    );
    // a research institute's Atom feed written with an `atom:` prefix throughout
    let prefixed_atom = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
        <atom:feed xmlns:atom=\"http://www.w3.org/2005/Atom\"><atom:title>Institute News</atom:title>\
        <atom:id>urn:institute</atom:id><atom:updated>2025-06-05T10:00:00Z</atom:updated>\
        <atom:entry><atom:id>urn:institute:1</atom:id><atom:title>Survey results published</atom:title>\
        <atom:link href=\"https://institute.example/news/1\"/><atom:updated>2025-06-05T10:00:00Z</atom:updated>\
        <atom:content type=\"html\"><![CDATA[<p>The <b>survey</b> is out.</p>]]></atom:content></atom:entry>\
        </atom:feed>"
        .to_string();
    // a library's RSS 1.0 feed whose channel and items carry an `rss:` prefix
    let prefixed_rdf = "<?xml version=\"1.0\"?>\
        <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns:rss=\"http://purl.org/rss/1.0/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
        <rss:channel rdf:about=\"https://library.example/\"><rss:title>Library</rss:title><rss:link>https://library.example/</rss:link>\
        <rss:description>New books</rss:description></rss:channel>\
        <rss:item rdf:about=\"https://library.example/b/1\"><rss:title>New atlas arrives</rss:title>\
        <rss:link>https://library.example/b/1</rss:link><dc:date>2025-06-05T09:00:00Z</dc:date></rss:item>\
        </rdf:RDF>"
        .to_string();
    // a radio station's RSS 2.0 in the old UserLand namespace, bound to a prefix
    let prefixed_rss = "<?xml version=\"1.0\"?>\
        <r:rss version=\"2.0\" xmlns:r=\"http://backend.userland.com/rss2\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
        <r:channel><r:title>Station</r:title><r:link>https://station.example/</r:link>\
        <r:description>Bulletins</r:description>\
        <r:item><r:title>Evening bulletin</r:title><r:link>https://station.example/b/7</r:link>\
        <r:description>&lt;p&gt;Traffic and weather.&lt;/p&gt;</r:description><dc:creator>Newsroom</dc:creator>\
        <r:pubDate>Thu, 05 Jun 2025 18:00:00 GMT</r:pubDate></r:item>\
        </r:channel></r:rss>"
        .to_string();
    // a hand-written club newsletter: markup left unescaped in headline and description
    // (a script among it), categories in an IDG-style <categories> wrapper
    let naked =
        "<rss version=\"2.0\"><channel><title>Club News</title><link>https://club.example/</link>\
        <item><title>Regatta <em>postponed</em> again</title><link>https://club.example/n/1</link>\
        <description><p>High winds: the regatta moves to <a href=\"/cal\">Sunday</a>.</p>\
        <script>alert(1)</script></description>\
        <categories><category>Sailing</category><category>Events</category></categories></item>\
        </channel></rss>"
            .to_string();
    // a static site's JSON Feed whose template prints ids as numbers and tags as years
    let json = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "Notes",
        "home_page_url": "https://notes.example/",
        "items": [{"id": 101, "url": "https://notes.example/101", "title": "First note",
                   "content_html": "<p>One.</p>", "tags": [2025], "date_published": "2025-06-05T08:00:00Z"},
                  {"id": 102, "url": "https://notes.example/102", "title": "Second note",
                   "content_text": "Two.", "date_published": "2025-06-05T09:00:00Z"}]}"#
        .to_string();
    // a pandoc-built blog (formulas in MathML with their TeX) and a KaTeX-rendered one
    let math = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Notes on allocators</title>
<link href="https://alloc.example/"/><id>https://alloc.example/</id><updated>2025-06-05T10:00:00Z</updated>
<entry><title>Reserve and commit</title><link href="https://alloc.example/reserve"/>
<id>https://alloc.example/reserve</id><updated>2025-06-05T10:00:00Z</updated>
<summary type="html">&lt;p&gt;Growing by &lt;math&gt;&lt;semantics&gt;&lt;mi&gt;G&lt;/mi&gt;&lt;annotation encoding="application/x-tex"&gt;G&lt;/annotation&gt;&lt;/semantics&gt;&lt;/math&gt; each time.&lt;/p&gt;</summary>
<content type="html">&lt;p&gt;When you request &lt;math display="inline" xmlns="http://www.w3.org/1998/Math/MathML"&gt;&lt;semantics&gt;&lt;mi&gt;n&lt;/mi&gt;&lt;annotation encoding="application/x-tex"&gt;n&lt;/annotation&gt;&lt;/semantics&gt;&lt;/math&gt; bytes, sorting costs &lt;span class="katex"&gt;&lt;span class="katex-mathml"&gt;&lt;math&gt;&lt;semantics&gt;&lt;mrow&gt;&lt;mi&gt;O&lt;/mi&gt;&lt;/mrow&gt;&lt;annotation encoding="application/x-tex"&gt;O(n \log n)&lt;/annotation&gt;&lt;/semantics&gt;&lt;/math&gt;&lt;/span&gt;&lt;span class="katex-html" aria-hidden="true"&gt;&lt;span class="mord"&gt;O(n log n)&lt;/span&gt;&lt;/span&gt;&lt;/span&gt; at most.&lt;/p&gt;</content>
</entry></feed>"#
        .to_string();
    // a town weekly whose template closes the channel before its items, and a school
    // newsletter's hand-written RSS with no channel at all
    let outside = format!(
        "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>Town Weekly</title>\
         <link>https://town.example/</link><description>News</description></channel>\n{}{}</rss>",
        "<item><title>Council approves budget</title><link>https://town.example/1</link>\
         <pubDate>Fri, 06 Jun 2025 10:00:00 GMT</pubDate></item>\n",
        "<item><title>Library reopens</title><link>https://town.example/2</link></item>\n"
    );
    let channelless =
        "<rss version=\"2.0\"><title>School News</title><link>https://school.example/</link>\
        <item><title>Sports day moved</title><link>https://school.example/n/4</link></item></rss>"
            .to_string();
    // a museum's hand-written feed that names itself by an entity its DOCTYPE declares
    let entities = "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY museum \"City Museum\">\n\
        <!ENTITY site \"https://museum.example\">\n]>\n<rss version=\"2.0\"><channel>\
        <title>&museum; events</title><link>&site;/</link>\
        <item><title>&museum; opens a new wing</title><link>&site;/wings/east</link>\
        <description>Visit &museum;.</description></item></channel></rss>"
        .to_string();
    // a blog whose PHP prints a warning before the feed
    let warned = "<br />\n<b>Warning</b>:  Cannot modify header information - headers already sent by \
        (output started at /var/www/blog/wp-config.php:12) in <b>/var/www/blog/wp-includes/feed.php</b> \
        on line <b>8</b><br />\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
        <rss version=\"2.0\"><channel><title>Garden Diary</title><link>https://garden.example/</link>\
        <item><title>First frost</title><link>https://garden.example/frost</link></item></channel></rss>"
        .to_string();
    // a regional paper's feed cut short (the server's connection dropped mid-item)
    let cut = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
        <title>La Gazette du Rh\u{f4}ne</title><link>https://gazette.example/</link>\
        <language>fr</language>\
        <item><title>Le pont rouvre</title><link>https://gazette.example/pont</link>\
        <description>Le pont rouvre lundi.</description></item>\
        <item><title>La f\u{ea}te du quartier</title><link>https://gazette.example/fete</link>\
        <description>Samedi, la f\u{ea}te</description></item>\
        <item><title>March\u{e9} de no"
        .to_string();
    vec![
        ("cut", "application/rss+xml; charset=UTF-8", cut),
        ("warned", "application/rss+xml; charset=UTF-8", warned),
        ("entities", "application/rss+xml", entities),
        ("outside", "application/rss+xml", outside),
        ("channelless", "application/xml", channelless),
        ("math", "application/atom+xml", math),
        ("json-loose", "application/feed+json", json),
        ("naked", "application/rss+xml", naked),
        ("prefixed-rss", "application/rss+xml", prefixed_rss),
        ("prefixed-atom", "application/atom+xml", prefixed_atom),
        ("prefixed-rdf", "application/rdf+xml", prefixed_rdf),
        ("newspaper", "application/rss+xml; charset=utf-8", newspaper),
        ("rss090", "application/rdf+xml", rss090),
        ("default-ns", "application/rss+xml", default_ns),
        ("lowercase", "application/rss+xml", lowercase),
        ("podcast", "application/rss+xml", podcast),
        ("authors", "application/rss+xml", authors),
        ("sloppy", "text/xml", sloppy),
    ]
}

fn by_title<'a>(entries: &'a [MergedEntry], title: &str) -> &'a MergedEntry {
    entries
        .iter()
        .find(|e| e.title == title)
        .unwrap_or_else(|| {
            panic!(
                "no {title:?} in {:?}",
                entries.iter().map(|e| &e.title).collect::<Vec<_>>()
            )
        })
}

#[tokio::test(flavor = "multi_thread")]
async fn faulty_documents_cost_their_faults_not_the_feed() {
    let server = FixtureServer::start().await;
    let mut toml = String::new();
    for (name, ct, body) in faulty_feeds() {
        let path = format!("/{name}.xml");
        server.set(&path, Route::feed(ct, body));
        toml.push_str(&format!(
            "[[feed]]\nname = \"{name}\"\nurl = \"{}\"\n\n",
            server.url(&path)
        ));
    }
    // a static blog's feed stored pre-compressed, served without its Content-Encoding
    let static_feed = rss_document(
        "Static notes",
        "",
        &[rss_item(
            "static-1",
            "Compressed at rest",
            "A body that was gzipped.",
            "Tue, 03 Jun 2025 09:00:00 GMT",
        )],
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, static_feed.as_bytes()).unwrap();
    server.set(
        "/gzipped.xml",
        Route::feed("application/rss+xml", gz.finish().unwrap()),
    );
    toml.push_str(&format!(
        "[[feed]]\nname = \"gzipped\"\nurl = \"{}\"\n\n",
        server.url("/gzipped.xml")
    ));
    let env = TestEnv::new(&toml);
    for s in env.poll().await {
        assert!(!s.failed(), "{s}");
    }
    let states = states(&env);

    // one empty element costs nothing: 33 items, and the faulty one's image
    let news = entries_of(&env, "newspaper");
    assert_eq!(news.len(), 33);
    assert_eq!(
        by_title(&news, "Story 7").image.as_deref(),
        Some("https://nyc.example/7.jpg")
    );
    let (state, error) = &states["newspaper"];
    assert_eq!(state, "recovered");
    let error = error.as_deref().unwrap();
    assert!(
        error.contains("entry 7 (\"Story 7\"): empty <media:description> left out"),
        "{error}"
    );

    let rss090 = entries_of(&env, "rss090");
    assert_eq!(rss090.len(), 2);
    assert_eq!(
        by_title(&rss090, "Größere Speicher für Smartphones")
            .link
            .as_deref(),
        Some("https://tech.example.de/meldung/2")
    );

    let ua = entries_of(&env, "default-ns");
    assert_eq!(ua.len(), 2);
    assert_eq!(
        by_title(&ua, "Уряд ухвалив нову програму").published,
        at(2025, 6, 3, 5, 30)
    );

    let clips = entries_of(&env, "lowercase");
    assert_eq!(clips[0].published, at(2025, 6, 4, 12, 0));

    let pod = entries_of(&env, "podcast");
    assert_eq!(
        by_title(&pod, "Episode 12").link.as_deref(),
        Some("https://pod.example/episodes/12")
    );
    assert_eq!(by_title(&pod, "Episode 11").link, None);

    let desk = entries_of(&env, "authors");
    assert_eq!(by_title(&desk, "Atom author").authors, ["Priya Raman"]);
    assert_eq!(by_title(&desk, "Guillemets").authors, ["Jean Dupont"]);
    assert_eq!(by_title(&desk, "Plain").authors, ["The Desk"]);
    assert_eq!(states["authors"].0, "recovered");

    let sloppy = entries_of(&env, "sloppy");
    let mut titles: Vec<&str> = sloppy.iter().map(|e| e.title.as_str()).collect();
    titles.sort();
    assert_eq!(titles, ["Fish & chips \u{2014} a review", "Still here"]);
    assert_eq!(
        by_title(&sloppy, "Still here").link.as_deref(),
        Some("https://sloppy.example/3")
    );
    let (state, error) = &states["sloppy"];
    assert_eq!(state, "recovered");
    assert!(
        error
            .as_deref()
            .unwrap()
            .contains("entry 2 (\"Broken twice\"): left out, unreadable"),
        "{error:?}"
    );
    assert!(
        error
            .as_deref()
            .unwrap()
            .contains("its references repaired"),
        "{error:?}"
    );
    // feed elements written with a namespace prefix
    let station = entries_of(&env, "prefixed-rss");
    assert_eq!(station.len(), 1, "RSS in a prefixed namespace is read");
    let bulletin = by_title(&station, "Evening bulletin");
    assert_eq!(
        bulletin.link.as_deref(),
        Some("https://station.example/b/7")
    );
    assert_eq!(bulletin.published, at(2025, 6, 5, 18, 0));
    assert_eq!(bulletin.authors, ["Newsroom"]);
    let institute = entries_of(&env, "prefixed-atom");
    assert_eq!(institute.len(), 1);
    let survey = by_title(&institute, "Survey results published");
    assert_eq!(
        survey.link.as_deref(),
        Some("https://institute.example/news/1")
    );
    assert!(
        survey
            .content
            .as_deref()
            .is_some_and(|c| c.contains("<b>survey</b>")),
        "{survey:?}"
    );
    let library = entries_of(&env, "prefixed-rdf");
    assert_eq!(library.len(), 1);
    assert_eq!(
        by_title(&library, "New atlas arrives").published,
        at(2025, 6, 5, 9, 0)
    );
    // a JSON Feed with numbers where strings belong loses nothing
    let notes = entries_of(&env, "json-loose");
    assert_eq!(notes.len(), 2);
    assert_eq!(by_title(&notes, "First note").categories, ["2025"]);
    let (state, error) = &states["json-loose"];
    assert_eq!(state, "recovered");
    assert!(
        error
            .as_deref()
            .unwrap_or_default()
            .contains("JSON Feed read loosely"),
        "{error:?}"
    );
    // markup written unescaped is the body, sanitized; the headline its text
    let club = entries_of(&env, "naked");
    let regatta = by_title(&club, "Regatta postponed again");
    let summary = regatta.summary.as_deref().unwrap_or_default();
    let shown = regatta.content.as_deref().unwrap_or(summary);
    assert!(
        shown.contains("the regatta moves to") && shown.contains("https://club.example/cal"),
        "{regatta:?}"
    );
    assert!(
        !shown.contains("script") && !shown.contains("alert"),
        "{shown}"
    );
    assert_eq!(regatta.categories, ["Sailing", "Events"]);
    // formulas keep their text (the sanitizer drops MathML with all it holds), once each
    let notes = entries_of(&env, "math");
    let post = by_title(&notes, "Reserve and commit");
    let body = post.content.as_deref().unwrap_or_default();
    assert!(
        body.contains("When you request n bytes, sorting costs O(n \\log n) at most."),
        "{body}"
    );
    assert!(
        !body.contains("<math") && !body.contains("n log n"),
        "{body}"
    );
    assert_eq!(post.summary.as_deref(), Some("Growing by G each time."));
    // items outside the channel are the feed's, and the feed says it was repaired
    let town = entries_of(&env, "outside");
    assert_eq!(town.len(), 2, "{town:?}");
    assert_eq!(
        by_title(&town, "Council approves budget").published,
        at(2025, 6, 6, 10, 0)
    );
    let school = entries_of(&env, "channelless");
    assert_eq!(
        by_title(&school, "Sports day moved").link.as_deref(),
        Some("https://school.example/n/4")
    );
    for name in ["outside", "channelless"] {
        let (state, error) = &states[name];
        assert_eq!(state, "recovered", "{name}");
        assert!(
            error
                .as_deref()
                .unwrap_or_default()
                .contains("items outside its <channel>"),
            "{name}: {error:?}"
        );
    }
    // what a program printed before the feed is left out, and said
    let garden = entries_of(&env, "warned");
    assert_eq!(
        by_title(&garden, "First frost").link.as_deref(),
        Some("https://garden.example/frost")
    );
    let (state, error) = &states["warned"];
    assert_eq!(state, "recovered");
    assert!(
        error.as_deref().unwrap_or_default().contains(
            "output before the document left out: \"Warning: Cannot modify header information"
        ),
        "{error:?}"
    );
    // a body gzipped without a Content-Encoding is unpacked, and said
    let notes = entries_of(&env, "gzipped");
    assert_eq!(
        by_title(&notes, "Compressed at rest").summary.as_deref(),
        Some("A body that was gzipped.")
    );
    let (state, error) = &states["gzipped"];
    assert_eq!(state, "recovered");
    assert!(
        error
            .as_deref()
            .unwrap_or_default()
            .contains("gzip-compressed without a Content-Encoding"),
        "{error:?}"
    );
    // a document cut short keeps its whole entries and its own elements (the language)
    let gazette = entries_of(&env, "cut");
    assert_eq!(gazette.len(), 2, "{gazette:?}");
    for e in &gazette {
        assert_eq!(e.language.as_deref(), Some("fr"), "{e:?}");
        assert_eq!(e.sources[0].title, "La Gazette du Rh\u{f4}ne");
        assert_eq!(
            e.sources[0].site_url.as_deref(),
            Some("https://gazette.example/")
        );
    }
    let (state, error) = &states["cut"];
    assert_eq!(state, "recovered");
    assert!(
        error.as_deref().unwrap_or_default().contains(
            "the document is cut short: read up to its last whole entry (the one cut short left out)"
        ),
        "{error:?}"
    );
    // entities the document declares are read as XML reads them
    let museum = entries_of(&env, "entities");
    let wing = by_title(&museum, "City Museum opens a new wing");
    assert_eq!(
        wing.link.as_deref(),
        Some("https://museum.example/wings/east")
    );
    assert_eq!(wing.summary.as_deref(), Some("Visit City Museum."));
    // the rest read as they are
    for name in [
        "entities",
        "math",
        "naked",
        "rss090",
        "default-ns",
        "lowercase",
        "podcast",
        "prefixed-rss",
        "prefixed-atom",
        "prefixed-rdf",
    ] {
        assert_eq!(states[name].0, "ok", "{name}: {:?}", states[name]);
    }
    assert_no_replacement_characters(&env);

    // `newswire feeds`, the real binary, shows the state and what was repaired
    let out = std::process::Command::new(BIN)
        .args(["feeds", "--config"])
        .arg(&env.config_path)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    let row = table
        .lines()
        .find(|l| l.starts_with("newspaper "))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        row.contains("recovered") && row.contains("media:description"),
        "{row}"
    );
}
