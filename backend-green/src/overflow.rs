//! A green task that overflows its stack stops the process with a message that says what
//! to change, as a std thread's overflow does, instead of hanging its join handle.
//!
//! Every coroutine stack has a guard page below it. generator (may's coroutine crate)
//! handles a hit on it by printing a line and abandoning the coroutine: its frames are
//! never unwound, so nothing it owned is dropped and its `JoinHandle` would wait forever.
//! anyrt-green puts its own SIGSEGV/SIGBUS handler in front of generator's: a fault on a
//! may worker, inside a coroutine, next to the stack pointer is a stack overflow, and
//! the handler writes its message and aborts. Any other fault goes on to the handler that
//! was there before (generator's, then std's), unchanged.

use std::sync::OnceLock;

/// The message, made once (a signal handler must not allocate).
static MESSAGE: OnceLock<String> = OnceLock::new();

/// The handlers anyrt-green's replaced, for SIGSEGV and SIGBUS.
static PREVIOUS: OnceLock<[libc::sigaction; 2]> = OnceLock::new();

const SIGNALS: [libc::c_int; 2] = [libc::SIGSEGV, libc::SIGBUS];

/// How far from the stack pointer a stack overflow faults: at most a page below it (a
/// call, or a large frame's stack probe, which touches each page in turn) or a small
/// frame above it (a store into a frame that `sub rsp` moved into the guard page). On a
/// coroutine, nothing else unmapped is that close: the stack around it is mapped.
const OVERFLOW_REACH: usize = 64 * 1024;

/// Installs the handler (once per process). Called on a green coroutine, after generator
/// installed its own.
pub(crate) fn install() {
    let stack = crate::runtime::stack_size();
    let _ = MESSAGE.set(format!(
        "\nanyrt-green: a green task overflowed its coroutine stack ({stack} bytes, unless \
         its Green handle was built with another stack_size); aborting.\n\
         Raise the stack size with `Green::builder().stack_size(bytes)` (in tests: \
         `#[anyrt::test(green_stack_size = bytes)]`), or move large buffers and deep \
         recursion to the heap (Box, Vec).\n"
    ));
    PREVIOUS.get_or_init(|| {
        let mut previous = [empty_action(); 2];
        for (sig, prev) in SIGNALS.iter().zip(previous.iter_mut()) {
            let mut action = empty_action();
            action.sa_sigaction = on_fault as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            // SAFETY: `sigaction` with valid pointers to initialised structs; the handler
            // only does async-signal-safe work before it aborts or forwards (see `on_fault`).
            unsafe {
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(*sig, &action, prev);
            }
        }
        previous
    });
}

fn empty_action() -> libc::sigaction {
    // SAFETY: `sigaction` is a plain C struct for which all-zero bytes is a valid value
    // (no handler, no flags, an empty mask).
    unsafe { std::mem::zeroed() }
}

/// The stack pointer at the fault, where this architecture is supported.
///
/// # Safety
///
/// `ctx` is the `ucontext_t` the kernel passed to an `SA_SIGINFO` handler.
#[allow(unused_variables)]
unsafe fn stack_pointer(ctx: *mut libc::c_void) -> Option<usize> {
    let uc = ctx.cast::<libc::ucontext_t>();
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    // SAFETY: per the contract, `uc` points to the kernel's saved context.
    return Some(unsafe { (*uc).uc_mcontext.gregs[libc::REG_RSP as usize] } as usize);
    #[cfg(all(target_os = "linux", target_arch = "aarch64"))]
    // SAFETY: as above.
    return Some(unsafe { (*uc).uc_mcontext.sp } as usize);
    #[allow(unreachable_code)]
    None
}

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid `siginfo_t` for SIGSEGV/SIGBUS to an `SA_SIGINFO`
    // handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    // SAFETY: `ctx` is the kernel's context for this signal.
    let sp = unsafe { stack_pointer(ctx) };
    // Only thread-locals that are already initialised on this thread are read: `is_worker`
    // is a const thread-local, and on a worker generator's context is set up.
    let overflow = sp.is_some_and(|sp| addr.abs_diff(sp) <= OVERFLOW_REACH)
        && crate::start::is_worker()
        && may::coroutine::is_coroutine();
    if overflow {
        let msg = MESSAGE
            .get()
            .map_or("anyrt-green: a green task overflowed its stack\n", |m| m);
        // SAFETY: `write` and `abort` are async-signal-safe; `msg` is a valid buffer.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::abort();
        }
    }
    forward(sig, info, ctx);
}

/// Hands the fault to the handler that was installed before ours.
fn forward(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let Some(previous) = PREVIOUS.get() else {
        return;
    };
    let Some(prev) = SIGNALS.iter().position(|s| *s == sig).map(|i| &previous[i]) else {
        return;
    };
    let handler = prev.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        // Restore it and return: the faulting instruction runs again and gets the default
        // action (a core dump), as if anyrt-green had never been there.
        // SAFETY: `prev` is the action the kernel gave us back for this signal.
        unsafe { libc::sigaction(sig, prev, std::ptr::null_mut()) };
    } else if prev.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: with SA_SIGINFO, `sa_sigaction` holds a handler of this signature (it
        // was installed as one), called with the arguments the kernel gave us.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(handler) };
        f(sig, info, ctx);
    } else {
        // SAFETY: without SA_SIGINFO, `sa_sigaction` holds a plain `fn(c_int)` handler.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
        f(sig);
    }
}
