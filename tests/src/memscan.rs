//! Reading a running process's memory as root, to check where secrets are.
//!
//! The regions come from `/proc/PID/smaps` (which also says, in `VmFlags`,
//! whether a region is locked: `lo`); their bytes from `/proc/PID/mem`.
//! Only root can do this to `signetd`, which is not dumpable (a same-uid
//! process is refused: `tests/it/hardening.rs`). Scanned: every readable
//! region that is not a file's text or read-only data: anonymous mappings
//! (the heap, thread stacks, `mmap`ed buffers, the locked key pages) and a
//! file's writable private pages (`.data`, `.bss`). Skipped: `[vvar]`,
//! `[vsyscall]`, `[vdso]`, which hold no process data.

use std::fs;
use std::os::unix::fs::FileExt as _;

/// One region of the process's address space.
#[derive(Debug, Clone)]
pub struct Region {
    /// First address.
    pub start: u64,
    /// One past the last.
    pub end: u64,
    /// `rw-p` and such.
    pub perms: String,
    /// The mapped file or `[heap]`, `[stack]`, …; empty for anonymous.
    pub name: String,
    /// `VmFlags` has `lo`: the pages are locked (never swapped).
    pub locked: bool,
}

/// Where a needle was found.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Which needle (its index in the list given).
    pub needle: usize,
    /// Its address.
    pub addr: u64,
    /// The region's description.
    pub region: String,
    /// Whether that region is locked.
    pub locked: bool,
}

/// The regions of `pid` worth scanning, from `/proc/PID/smaps`.
#[track_caller]
pub fn regions(pid: u32) -> Vec<Region> {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps"))
        .unwrap_or_else(|e| panic!("reading /proc/{pid}/smaps (as root): {e}"));
    let mut out: Vec<Region> = Vec::new();
    for line in text.lines() {
        if let Some(flags) = line.strip_prefix("VmFlags:") {
            if let Some(r) = out.last_mut() {
                r.locked = flags.split_whitespace().any(|f| f == "lo");
            }
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Some((a, b)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) else {
            continue;
        };
        // offset, device, inode, then the name (may be empty, may hold spaces).
        let rest: Vec<&str> = fields.collect();
        let name = rest.get(3..).map(|n| n.join(" ")).unwrap_or_default();
        out.push(Region {
            start,
            end,
            perms: perms.to_owned(),
            name,
            locked: false,
        });
    }
    out.retain(|r| {
        let readable = r.perms.starts_with('r');
        let special = matches!(
            r.name.as_str(),
            "[vvar]" | "[vsyscall]" | "[vdso]" | "[vvar_vclock]"
        );
        let file_text = !r.name.is_empty() && !r.name.starts_with('[') && !r.perms.contains('w');
        readable && !special && !file_text
    });
    out
}

/// Every place any of `needles` occurs in `pid`'s memory. Panics if the
/// memory cannot be read at all (the caller must be root).
#[track_caller]
pub fn scan(pid: u32, needles: &[&[u8]]) -> Vec<Hit> {
    let mem = fs::File::open(format!("/proc/{pid}/mem"))
        .unwrap_or_else(|e| panic!("opening /proc/{pid}/mem (as root): {e}"));
    let mut hits = Vec::new();
    let mut read_any = false;
    for r in regions(pid) {
        let Ok(len) = usize::try_from(r.end - r.start) else {
            continue;
        };
        let mut buf = vec![0u8; len];
        // A region can vanish between smaps and the read (a thread ending,
        // a buffer freed): skip it.
        if mem.read_exact_at(&mut buf, r.start).is_err() {
            continue;
        }
        read_any = true;
        for (i, n) in needles.iter().enumerate() {
            if n.is_empty() {
                continue;
            }
            let mut from = 0;
            while let Some(pos) = find(&buf[from..], n) {
                hits.push(Hit {
                    needle: i,
                    addr: r.start + (from + pos) as u64,
                    region: format!(
                        "{:x}-{:x} {} {}",
                        r.start,
                        r.end,
                        r.perms,
                        if r.name.is_empty() { "[anon]" } else { &r.name }
                    ),
                    locked: r.locked,
                });
                from += pos + 1;
            }
        }
    }
    assert!(read_any, "no region of process {pid} could be read");
    hits
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
