//! A global allocator that counts allocations, so each row can report allocations per
//! round trip.
//!
//! The count is sharded: one cache line per shard, a thread keeps to one shard. A single
//! shared counter is a cache line every allocating thread writes, and that contention
//! would weigh on the rows that allocate on more threads, not on the code measured.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

pub(crate) struct Counting;

const SHARDS: usize = 16;

#[repr(align(128))]
struct Shard(AtomicU64);

static COUNTS: [Shard; SHARDS] = [const { Shard(AtomicU64::new(0)) }; SHARDS];
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

std::thread_local! {
    // `usize::MAX`: not assigned yet. Const-initialised without a destructor, so reading
    // it never allocates (this runs inside the allocator).
    static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn count() {
    let shard = SHARD
        .try_with(|s| {
            let mut i = s.get();
            if i == usize::MAX {
                i = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
                s.set(i);
            }
            i
        })
        .unwrap_or(0);
    COUNTS[shard].0.fetch_add(1, Ordering::Relaxed);
}

/// Allocations (and reallocations) so far in this process.
pub(crate) fn allocations() -> u64 {
    COUNTS.iter().map(|s| s.0.load(Ordering::Relaxed)).sum()
}

// SAFETY: every call is forwarded unchanged to the system allocator; this only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract; passed through.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract; passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
