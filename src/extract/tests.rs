use super::*;

fn url() -> Url {
    Url::parse("https://news.example/world/2026/story.html").unwrap()
}

fn para(n: usize, word: &str) -> String {
    format!("<p>{}</p>", vec![word; n].join(" "))
}

#[test]
fn a_plain_article_page_gives_its_text_and_absolute_urls() {
    let html = format!(
        r#"<html><head><title>Harbour reopens | News</title>
        <meta property="og:image" content="/img/lead.jpg"></head><body>
        <nav><a href="/">Home</a> <a href="/world">World</a></nav>
        <article><h1>Harbour reopens</h1>{}{}<p>The port authority published <a href="../more.html">its report</a> on Monday,
        with the figures for every berth.</p><figure><img src="pic.jpg"></figure></article>
        <footer>Copyright</footer></body></html>"#,
        para(60, "ships"),
        para(40, "cranes")
    );
    let e = extract(&html, &url(), &Rules::default()).unwrap();
    assert!(e.text.contains("ships ships"), "{}", e.text);
    assert!(e.text.contains("cranes cranes"), "{}", e.text);
    assert!(!e.text.contains("Copyright"), "{}", e.text);
    assert!(
        e.html
            .contains(r#"href="https://news.example/world/more.html""#),
        "{}",
        e.html
    );
    assert!(
        e.html
            .contains(r#"src="https://news.example/world/2026/pic.jpg""#),
        "{}",
        e.html
    );
    assert_eq!(
        e.image.as_deref(),
        Some("https://news.example/img/lead.jpg")
    );
    assert!(e.words >= 100);
}

#[test]
fn selectors_choose_and_remove() {
    let html = format!(
        r#"<html><body><div class="story">{}<div class="promo">{}</div></div>
        <div class="other">{}</div></body></html>"#,
        para(30, "chosen"),
        para(30, "promo"),
        para(200, "other")
    );
    let rules = Rules {
        content_selector: Some("div.story".into()),
        remove_selector: Some(".promo".into()),
    };
    let e = extract(&html, &url(), &rules).unwrap();
    assert!(e.text.contains("chosen"), "{}", e.text);
    assert!(!e.text.contains("promo"), "{}", e.text);
    assert!(!e.text.contains("other"), "{}", e.text);
    // a selector that matches nothing falls back to the generic extractor
    let rules = Rules {
        content_selector: Some("div.nothing-here".into()),
        remove_selector: None,
    };
    let e = extract(&html, &url(), &rules).unwrap();
    assert!(e.text.contains("other"), "{}", e.text);
}

#[test]
fn the_result_is_sanitized() {
    let html = format!(
        r#"<html><body><article>{}<p onclick="x()">click</p><script>alert(1)</script>
        <a href="javascript:alert(1)">bad</a><iframe src="https://evil.example/"></iframe></article></body></html>"#,
        para(80, "safe")
    );
    let e = extract(&html, &url(), &Rules::default()).unwrap();
    for bad in ["onclick", "<script", "javascript:", "<iframe", "alert"] {
        assert!(!e.html.contains(bad), "{bad} in {}", e.html);
    }
}

#[test]
fn pages_without_an_article_say_so() {
    let e = extract("<html><body></body></html>", &url(), &Rules::default()).unwrap_err();
    assert_eq!(e.label(), "no_content");
    let e = extract(
        "<html><body><p>Please enable cookies to continue.</p></body></html>",
        &url(),
        &Rules::default(),
    )
    .unwrap_err();
    assert_eq!(e.label(), "no_content");
    let rules = Rules {
        content_selector: Some("div[".into()),
        remove_selector: None,
    };
    let e = extract("<p>x</p>", &url(), &rules).unwrap_err();
    assert_eq!(e.label(), "bad_selector");
    assert!(check_selector("article .body > p"));
    assert!(!check_selector("div["));
}
