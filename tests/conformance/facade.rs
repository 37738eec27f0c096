//! What only the facade's `#[anyrt::test]` stamping can check: its settings
//! (`timeout`, `green_stack_size`), the test attributes it passes on, results reported from
//! the body's thread, and blocking-style code of one backend inside another's task.

use std::future::Future;
use std::pin::Pin;

use anyrt::{Runtime, RuntimeExt};

use crate::{PROMPT, ms};

fn recurse(depth: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move {
        if depth == 0 {
            0
        } else {
            recurse(depth - 1).await + 1
        }
    })
}

#[anyrt::test]
async fn blocking_style_code_of_any_backend_panics_inside_an_async_task<R: Runtime>(rt: R) {
    use anyrt::implicit;

    async fn misuse<R: Runtime, B: Runtime>(rt: &R, other: B) {
        let h = rt.spawn(async move { implicit::block_on(&other, async { 1 }) });
        let err = rt
            .timeout(PROMPT, h)
            .await
            .expect("blocking-style code inside an async task hung")
            .unwrap_err();
        assert!(err.is_panic(), "{err:?}");
        assert!(err.to_string().contains("inside an async task"), "{err}");
    }
    #[cfg(feature = "tokio")]
    {
        let other = anyrt::Tokio::builder().workers(1).build().unwrap();
        misuse(&rt, other.clone()).await;
        other.shutdown();
    }
    #[cfg(feature = "smol")]
    {
        let other = anyrt::Smol::builder().workers(1).build().unwrap();
        misuse(&rt, other.clone()).await;
        other.shutdown();
    }
    #[cfg(feature = "green")]
    if rt.name() != "green" {
        // A green task may block in Green's own `block_on`: it parks only the coroutine.
        misuse(&rt, anyrt::Green::new()).await;
    }
}

/// Test attributes reach every stamped test: this one passes only because it panics.
#[anyrt::test]
#[should_panic(expected = "the body panicked on purpose")]
async fn should_panic_reaches_every_backend<R: Runtime>(rt: R) {
    rt.sleep(ms(1)).await;
    panic!("the body panicked on purpose");
}

/// Ignored on every backend: run, it would fail.
#[anyrt::test]
#[ignore = "checks that #[ignore] reaches the stamped tests"]
fn ignore_reaches_every_backend<R: Runtime>(rt: R) {
    panic!("an ignored test ran on {}", rt.name());
}

/// A test that hangs fails at its timeout, naming the backend, instead of hanging the run
/// (this one on purpose, after 1 s).
#[anyrt::test(timeout = "1s")]
#[should_panic(expected = "the test timed out on the")]
async fn a_test_that_hangs_fails_at_its_timeout<R: Runtime>(rt: R) {
    rt.sleep(std::time::Duration::from_secs(3600)).await;
}

/// The same for a blocking-style test.
#[anyrt::test(timeout = "500ms")]
#[should_panic(expected = "still running after 500ms")]
fn a_blocking_style_test_that_hangs_fails_at_its_timeout<R: Runtime>(rt: R) {
    anyrt::implicit::sleep(&rt, std::time::Duration::from_secs(3600));
}

/// A test's result reaches the harness from the body's thread, even when its error type
/// is not `Send`.
#[anyrt::test]
async fn a_test_returning_ok_passes<R: Runtime>(rt: R) -> Result<(), Box<dyn std::error::Error>> {
    rt.sleep(ms(1)).await;
    Ok(())
}

#[anyrt::test]
#[should_panic(expected = "non-zero status code")]
async fn a_test_returning_an_error_fails<R: Runtime>(
    rt: R,
) -> Result<(), Box<dyn std::error::Error>> {
    rt.sleep(ms(1)).await;
    Err("the body failed on purpose".into())
}

/// Deeper than the default 1 MiB green stack holds in a debug build, within the 2 MiB of
/// Tokio's and Smol's worker threads: the test raises Green's stack.
#[anyrt::test(green_stack_size = 4 << 20)]
async fn a_test_chooses_greens_stack_size<R: Runtime>(rt: R) {
    let h = rt.spawn(recurse(5000));
    assert_eq!(rt.timeout(PROMPT, h).await.unwrap().unwrap(), 5000);
}
