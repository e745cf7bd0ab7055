//! `*` globs for rule targets and executables.

/// `*` matches any run of characters (slashes included); everything else
/// matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches() {
        assert!(glob("/v2/public/projects*", "/v2/public/projects/abc?x=1"));
        assert!(glob("/v2/public/projects*", "/v2/public/projects"));
        assert!(!glob("/v2/public/projects*", "/v2/public/datasets"));
        assert!(glob("/v2/*/labels", "/v2/public/projects/p/labels"));
        assert!(!glob("/v2/*/labels", "/v2/public/projects/p/labels/x"));
        assert!(glob("*", ""));
        assert!(!glob("/a", "/ab"));
        assert!(glob("/usr/bin/python3*", "/usr/bin/python3.11"));
    }
}
