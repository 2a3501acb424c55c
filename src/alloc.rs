//! The process's global allocator, chosen at build time by a cargo feature.
//!
//! The default is the system allocator (glibc's malloc, also in the static builds). `mimalloc`
//! and `jemalloc` swap in those allocators; BENCHMARKS.md ("Allocator") has the measurements that
//! decided the default. Both are C libraries built from source by their -sys crates, so they link
//! into the static x86_64 and aarch64 binaries like zstd does. With both features on (as
//! `--all-features` does) mimalloc wins.

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(all(feature = "jemalloc", not(feature = "mimalloc")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The allocator this binary was built with, for `kaflow version`.
pub(crate) const NAME: &str = if cfg!(feature = "mimalloc") {
    "mimalloc"
} else if cfg!(feature = "jemalloc") {
    "jemalloc"
} else {
    "system"
};
