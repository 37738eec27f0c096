//! `AnyRuntime` and `#[anyrt::main(backend = ...)]`: the backend chosen at run time.

use anyrt::{AnyRuntime, Runtime};

#[cfg(feature = "smol")]
#[anyrt::main(backend = "smol")]
async fn on_smol() -> &'static str {
    let rt = AnyRuntime::from_name("smol").unwrap();
    rt.spawn(async { "spawned" }).await.unwrap()
}

#[cfg(feature = "smol")]
#[test]
fn main_runs_on_the_named_backend() {
    assert_eq!(on_smol(), "spawned");
}

#[test]
fn from_name_builds_every_compiled_in_backend_and_names_the_feature_otherwise() {
    macro_rules! check {
        ($backend:ident, $runtime:ty) => {
            let rt = AnyRuntime::from_name(stringify!($backend)).unwrap();
            assert_eq!(rt.name(), stringify!($backend));
            assert!(rt.downcast_ref::<$runtime>().is_some());
            assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7);
        };
    }
    anyrt::for_each_backend!(check);
    let err = AnyRuntime::from_name("trio").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("`trio` feature"), "{err}");
}

/// A panicking task, an aborted one and a non-`Send` future in `block_on`, through the
/// dynamic handle.
#[test]
fn handles_forward_panics_aborts_and_outputs() {
    use anyrt::JoinHandle;
    let rt = AnyRuntime::from_env().unwrap();
    let err = rt
        .block_on(rt.spawn(async { panic!("boom through dyn") }))
        .unwrap_err();
    assert!(err.is_panic());
    assert!(err.to_string().contains("boom through dyn"));
    let h = rt.spawn(std::future::pending::<()>());
    h.abort();
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
    let local = std::rc::Rc::new(5);
    assert_eq!(rt.block_on(async { *local + 1 }), 6);
    let text = rt.block_on(rt.spawn_blocking(|| String::from("blocking")));
    assert_eq!(text.unwrap(), "blocking");
}
