//! The one list of backends.

/// The documentation of [`for_each_backend!`], which has one definition per combination
/// of backend features.
macro_rules! for_each_backend_doc {
    () => {
        "Calls `callback!(name, Type, args...)` once for each backend this build of anyrt has, in\nthe order Tokio, Smol, Green (`name` is `tokio`, `smol` or `green`, `Type` the runtime\ntype): the one list of backends that `#[anyrt::test]`, the examples, the tests and the\nbench read. With no backend enabled it is a compile error that names the features.\n\n```\nmacro_rules! count {\n    ($name:ident, $ty:ty, $n:ident) => {\n        $n += 1;\n    };\n}\nlet mut n = 0;\nanyrt::for_each_backend!(count, n);\nassert!(n >= 1);\n```"
    };
}

#[cfg(all(feature = "tokio", feature = "smol", feature = "green"))]
#[doc = for_each_backend_doc!()]
#[macro_export]
macro_rules! for_each_backend {
    ($callback:ident $(, $($args:tt)*)?) => {
        $callback!(tokio, $crate::Tokio $(, $($args)*)?);
        $callback!(smol, $crate::Smol $(, $($args)*)?);
        $callback!(green, $crate::Green $(, $($args)*)?);
    };
}

#[cfg(all(feature = "tokio", feature = "smol", not(feature = "green")))]
#[doc = for_each_backend_doc!()]
#[macro_export]
macro_rules! for_each_backend {
    ($callback:ident $(, $($args:tt)*)?) => {
        $callback!(tokio, $crate::Tokio $(, $($args)*)?);
        $callback!(smol, $crate::Smol $(, $($args)*)?);
    };
}

#[cfg(all(feature = "tokio", not(feature = "smol"), feature = "green"))]
#[doc = for_each_backend_doc!()]
#[macro_export]
macro_rules! for_each_backend {
    ($callback:ident $(, $($args:tt)*)?) => {
        $callback!(tokio, $crate::Tokio $(, $($args)*)?);
        $callback!(green, $crate::Green $(, $($args)*)?);
    };
}

#[cfg(all(feature = "tokio", not(feature = "smol"), not(feature = "green")))]
#[doc = for_each_backend_doc!()]
#[macro_export]
macro_rules! for_each_backend {
    ($callback:ident $(, $($args:tt)*)?) => {
        $callback!(tokio, $crate::Tokio $(, $($args)*)?);
    };
}

#[cfg(all(not(feature = "tokio"), feature = "smol", feature = "green"))]
#[doc = for_each_backend_doc!()]
#[macro_export]
macro_rules! for_each_backend {
    ($callback:ident $(, $($args:tt)*)?) => {
        $callback!(smol, $crate::Smol $(, $($args)*)?);
        $callback!(green, $crate::Green $(, $($args)*)?);
    };
}

#[cfg(all(not(feature = "tokio"), feature = "smol", not(feature = "green")))]
#[doc = for_each_backend_doc!()]
#[macro_export]
macro_rules! for_each_backend {
    ($callback:ident $(, $($args:tt)*)?) => {
        $callback!(smol, $crate::Smol $(, $($args)*)?);
    };
}

#[cfg(all(not(feature = "tokio"), not(feature = "smol"), feature = "green"))]
#[doc = for_each_backend_doc!()]
#[macro_export]
macro_rules! for_each_backend {
    ($callback:ident $(, $($args:tt)*)?) => {
        $callback!(green, $crate::Green $(, $($args)*)?);
    };
}

#[cfg(all(not(feature = "tokio"), not(feature = "smol"), not(feature = "green")))]
#[doc = for_each_backend_doc!()]
#[macro_export]
macro_rules! for_each_backend {
    ($callback:ident $(, $($args:tt)*)?) => {
        ::core::compile_error!(
            "anyrt has no backend enabled, so there is nothing to run on: enable anyrt's \
             `tokio`, `smol` or `green` feature (or `full`); for a library's tests, in \
             Cargo.toml: [dev-dependencies] anyrt = { version = \"0.1\", features = [\"tokio\"] }"
        );
    };
}
