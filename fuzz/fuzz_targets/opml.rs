//! Bytes -> opml::parse, then what `newswire opml import` makes of each outline (its URL
//! check, the name and the tags it would get), without touching a file. Never a panic; an
//! XML error names a line inside the document; every name an import would give is a valid
//! feed name, every tag a non-empty slug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newswire::config::valid_name;
use newswire::manage::{base_name, clean_tags, parse_user_url};
use newswire::opml::{self, OpmlError};

fuzz_target!(|data: &[u8]| {
    let outlines = match opml::parse(data) {
        Ok(o) => o,
        Err(OpmlError::Xml { line, .. }) => {
            let text = newswire::parse::decode(data, None);
            let lines = text.split('\n').count();
            assert!((1..=lines).contains(&line), "line {line} of {lines}");
            return;
        }
        Err(OpmlError::NotOpml(_)) => return,
    };
    for o in outlines {
        assert!(!o.xml_url.is_empty(), "an outline without xmlUrl: {o:?}");
        for t in &o.tags {
            assert!(
                !t.is_empty() && !t.starts_with('-') && !t.ends_with('-'),
                "tag {t:?}"
            );
        }
        // as manage::import_opml does
        let Ok(url) = parse_user_url(&o.xml_url) else {
            continue;
        };
        assert!(matches!(url.scheme(), "http" | "https"));
        let name = base_name(o.title.as_deref(), &url);
        assert!(
            valid_name(&name),
            "import would name a feed {name:?}: {o:?}"
        );
        let tags = clean_tags(o.tags);
        assert!(tags.iter().all(|t| !t.is_empty()));
    }
});
