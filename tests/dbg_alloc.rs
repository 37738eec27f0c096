//! Reads and writes on every backend's TCP stream allocate nothing: a counting global
//! allocator watches a whole echo exchange (client and server task) after warm-up.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyrt::io::{AsyncReadExt, AsyncWriteExt};
use anyrt::net::{TcpListener, TcpStream};
use anyrt::{Runtime, RuntimeExt};

struct Counting;

static TRACE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
thread_local!{static IN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };}
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; it only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ALLOCS.fetch_add(1, Ordering::Relaxed) % 500 == 7 && TRACE.load(Ordering::Relaxed) {
            IN.with(|f| if !f.replace(true) { eprintln!("{}", std::backtrace::Backtrace::force_capture()); f.set(false); });
        }
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract; passed through.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` above with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract; passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const ROUND_TRIPS: usize = 2_000;

/// The counter is process-wide: the per-backend tests take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[anyrt::test]
async fn echo_reads_and_writes_do_not_allocate<R: Runtime>(rt: R) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = rt.spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 64];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => s.write_all(&buf[..n]).await.unwrap(),
            }
        }
    });
    let mut c = rt.tcp_connect(addr).await.unwrap();
    c.set_nodelay(true).unwrap();
    let mut msg = [7u8; 64];
    let mut back = [0u8; 64];
    // Warm up: wakers registered, buffers and caches filled.
    for _ in 0..200 {
        c.write_all(&msg).await.unwrap();
        c.read_exact(&mut back).await.unwrap();
    }
    let before = ALLOCS.load(Ordering::SeqCst); TRACE.store(true, Ordering::SeqCst);
    for i in 0..ROUND_TRIPS {
        msg[0] = i as u8;
        c.write_all(&msg).await.unwrap();
        c.read_exact(&mut back).await.unwrap();
        assert_eq!(back, msg);
    }
    let allocs = ALLOCS.load(Ordering::SeqCst) - before;
    c.close().await.unwrap();
    rt.timeout(std::time::Duration::from_secs(5), server).await.unwrap().unwrap();
    // Each round trip is 4 read/write calls; a per-call allocation would show up as
    // thousands. A handful is allowed for the runtime's own occasional bookkeeping.
    assert!(
        allocs <= ROUND_TRIPS / 100,
        "{allocs} allocations in {ROUND_TRIPS} echo round trips on {}",
        rt.name()
    );
}
