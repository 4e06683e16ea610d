//! The node's memory trim hands freed memory back to the system. Its own
//! test binary: resident memory is the whole process's, so no other test may
//! allocate beside it.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

const MB: usize = 1 << 20;

fn resident() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

#[test]
fn memory_freed_after_a_burst_is_returned_to_the_system() {
    // Like a burst of queued frames: many small blocks, all freed but the
    // last, which keeps the freed space from being the arena's top (glibc
    // returns a free top by itself; it keeps everything below it).
    let mut blocks: Vec<Box<[u8; 256]>> = (0..200_000).map(|i| Box::new([i as u8; 256])).collect();
    let last = blocks.pop();
    drop(blocks);
    let before = resident();

    let took = chat_server::memory::trim();

    let after = resident();
    assert!(
        before.saturating_sub(after) > 30 * MB,
        "resident {} MB before the trim, {} MB after (took {took:?})",
        before / MB,
        after / MB
    );
    drop(last);
}
