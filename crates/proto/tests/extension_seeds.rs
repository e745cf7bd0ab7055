//! The extension frames captured from real clients (`fuzz/seeds/`, see
//! `fuzz/capture-seeds.py`) decode to a known [`Extension`] and re-encode
//! to the same bytes: the typed enum changed nothing on the wire.

use signet_proto::extension::Extension;
use signet_proto::Request;

#[test]
fn captured_extension_frames_round_trip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/seeds") {
        let path = entry.expect("seed").path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if !name.as_deref().is_some_and(|n| n.starts_with("extension-")) {
            continue;
        }
        let body = std::fs::read(&path).expect("read seed");
        let Ok(Request::Extension { name, contents }) = Request::decode(&body) else {
            panic!("{} is not an extension request", path.display());
        };
        let ext =
            Extension::decode(name, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            !matches!(ext, Extension::Unknown { .. }),
            "{}: decoded as unknown",
            path.display()
        );
        let mut frame = Vec::new();
        ext.encode_frame(&mut frame);
        assert_eq!(&frame[4..], &body[..], "{}", path.display());
        seen += 1;
    }
    assert!(
        seen >= 5,
        "only {seen} extension seeds in {}",
        dir.display()
    );
}
