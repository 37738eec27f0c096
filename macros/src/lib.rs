//! The attribute macros of [anyrt](https://docs.rs/anyrt): `#[anyrt::test]` and
//! `#[anyrt::main]`. Use them through the `anyrt` crate, which decides (by its features)
//! which backends exist.

#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{ToTokens, quote};
use syn::{FnArg, GenericParam, ItemFn, parse_macro_input};

/// Runs one test body on every backend the `anyrt` crate has enabled.
///
/// ```
/// #[anyrt::test]
/// async fn roundtrip<R: anyrt::Runtime>(rt: R) {
///     // An async body, run with `rt.block_on`.
///     assert_eq!(rt.spawn(async { 2 }).await.unwrap(), 2);
/// }
///
/// #[anyrt::test]
/// fn roundtrip_implicit<R: anyrt::Runtime>(rt: R) {
///     // A blocking-style body, run as an implicit thread.
///     anyrt::implicit::sleep(&rt, std::time::Duration::from_millis(1));
/// }
/// # fn main() {}
/// ```
///
/// Each expands to one `#[test]` per backend: `roundtrip::tokio`, `roundtrip::smol`,
/// `roundtrip::green`. Each test gets a fresh runtime (Green: the process-wide scheduler),
/// shut down when the test ends.
///
/// Settings, all optional:
///
/// * `timeout = "10s"` (a whole number of `ms`, `s` or `min`): the test fails, naming the
///   backend, if it is still running then, instead of hanging the test run. The default
///   is 60 s. The body runs on a thread of its own (named after the test); a test that
///   times out leaves that thread behind;
/// * `green_stack_size = BYTES`: the coroutine stack of the test's Green tasks (the
///   test's own body included), for a test that needs more than the default 1 MiB;
/// * `green_workers = N`: may's worker count. may's scheduler is process-wide, so this
///   only takes effect in the test binary's first Green test; a later test that asks for
///   another count fails with an error saying so (give such a test a binary of its own).
///
/// ```
/// #[anyrt::test(timeout = "5s")]
/// async fn quick<R: anyrt::Runtime>(rt: R) {
///     // Fails if it takes longer than 5 s.
///     rt.sleep(std::time::Duration::from_millis(1)).await;
/// }
///
/// #[anyrt::test(green_stack_size = 8 << 20)]
/// async fn deep<R: anyrt::Runtime>(rt: R) {
///     // Deep recursion that needs more than Green's default 1 MiB stack.
///     let _ = rt;
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = parse_macro_input!(item as ItemFn);
    expand_test(args.into(), item.clone()).unwrap_or_else(|e| with_item(e, &item))
}

/// Runs `async fn main` on anyrt's default runtime (`anyrt::runtime()`), or on a backend
/// chosen at run time: `#[anyrt::main(backend = env)]` reads `ANYRT_BACKEND` (the default
/// backend when it is unset), `#[anyrt::main(backend = "smol")]` names one; both run on an
/// `anyrt::AnyRuntime`, and a backend that is not compiled in stops the program with a
/// message naming the feature.
///
/// ```
/// #[anyrt::main]
/// async fn main() -> std::io::Result<()> {
///     use anyrt::Runtime;
///     let rt = anyrt::runtime();
///     assert_eq!(rt.spawn(async { 1 + 1 }).await.unwrap(), 2);
///     Ok(())
/// }
/// ```
///
/// ```
/// #[anyrt::main(backend = env)]
/// async fn main() {
///     let name = std::env::var("ANYRT_BACKEND").unwrap_or_default();
///     assert!(name.is_empty() || name == "tokio" || name == "smol" || name == "green");
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = parse_macro_input!(item as ItemFn);
    expand_main(args.into(), item.clone()).unwrap_or_else(|e| with_item(e, &item))
}

/// The error, followed by the item unchanged, so no second error ("no `main`") follows.
fn with_item(e: syn::Error, item: &ItemFn) -> TokenStream {
    let mut out = e.to_compile_error();
    out.extend(item.to_token_stream());
    out.into()
}

const TEST_SHAPE: &str =
    "`async fn name<R: anyrt::Runtime>(rt: R)` or `fn name<R: anyrt::Runtime>(rt: R)`";

/// The settings `#[anyrt::test(...)]` takes, as the expression of a
/// `anyrt::testing::TestConfig`.
fn test_config(args: TokenStream2) -> syn::Result<TokenStream2> {
    use syn::parse::Parser;
    let pairs = syn::punctuated::Punctuated::<syn::MetaNameValue, syn::Token![,]>::parse_terminated
        .parse2(args)?;
    let mut stack = quote!(::core::option::Option::None);
    let mut workers = quote!(::core::option::Option::None);
    let mut timeout = quote!(::core::option::Option::None);
    for pair in pairs {
        let value = &pair.value;
        if pair.path.is_ident("timeout") {
            let millis = timeout_millis(value)?;
            timeout = quote!(::core::option::Option::Some(
                ::core::time::Duration::from_millis(#millis)
            ));
            continue;
        }
        let slot = if pair.path.is_ident("green_stack_size") {
            &mut stack
        } else if pair.path.is_ident("green_workers") {
            &mut workers
        } else {
            return Err(syn::Error::new_spanned(
                &pair.path,
                "unknown #[anyrt::test] setting: expected `timeout = \"10s\"`, \
                 `green_stack_size = BYTES` or `green_workers = N`",
            ));
        };
        *slot = quote!(::core::option::Option::Some(#value));
    }
    Ok(quote!(&::anyrt::testing::TestConfig {
        green_stack_size: #stack,
        green_workers: #workers,
        timeout: #timeout,
    }))
}

/// The milliseconds of a `timeout = "…"` setting: a whole number followed by `ms`, `s` or
/// `min`.
fn timeout_millis(value: &syn::Expr) -> syn::Result<u64> {
    let bad = || {
        syn::Error::new_spanned(
            value,
            "`timeout` takes a string: a positive whole number and a unit, `ms`, `s` or \
             `min` (`timeout = \"10s\"`)",
        )
    };
    let syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(text),
        ..
    }) = value
    else {
        return Err(bad());
    };
    let text = text.value();
    let text = text.trim();
    let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let scale = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "min" => 60_000,
        _ => return Err(bad()),
    };
    match number.checked_mul(scale) {
        Some(millis) if millis > 0 => Ok(millis),
        _ => Err(bad()),
    }
}

fn expand_test(args: TokenStream2, item: ItemFn) -> syn::Result<TokenStream> {
    let config = test_config(args)?;
    let sig = &item.sig;
    let type_params: Vec<_> = sig
        .generics
        .params
        .iter()
        .filter(|p| !matches!(p, GenericParam::Lifetime(_)))
        .collect();
    if type_params.len() != 1 || !matches!(type_params[0], GenericParam::Type(_)) {
        let span = if sig.generics.params.is_empty() {
            sig.ident.span()
        } else {
            syn::spanned::Spanned::span(&sig.generics)
        };
        return Err(syn::Error::new(
            span,
            format!(
                "#[anyrt::test] functions must be generic over the runtime, with one type \
                 parameter: {TEST_SHAPE}"
            ),
        ));
    }
    if sig.inputs.len() != 1 || !matches!(sig.inputs[0], FnArg::Typed(_)) {
        let span = if sig.inputs.is_empty() {
            sig.paren_token.span.join()
        } else {
            syn::spanned::Spanned::span(&sig.inputs)
        };
        return Err(syn::Error::new(
            span,
            format!(
                "#[anyrt::test] functions take exactly one parameter, the runtime: {TEST_SHAPE}"
            ),
        ));
    }
    // The parameter is the runtime itself, by value: `rt: R`, not `rt: &R` or another type.
    let (FnArg::Typed(param), GenericParam::Type(runtime)) = (&sig.inputs[0], type_params[0])
    else {
        unreachable!("checked above: one typed parameter, one type parameter");
    };
    let by_value = matches!(&*param.ty, syn::Type::Path(p)
        if p.qself.is_none() && p.path.is_ident(&runtime.ident));
    if !by_value {
        let r = &runtime.ident;
        return Err(syn::Error::new_spanned(
            &param.ty,
            format!(
                "the runtime parameter of an #[anyrt::test] function is the runtime itself, \
                 by value: `rt: {r}` (a runtime is a cheap handle: clone it where you need \
                 another)"
            ),
        ));
    }
    let name = &sig.ident;
    let runner = if sig.asyncness.is_some() {
        quote!(run_async_test)
    } else {
        quote!(run_implicit_test)
    };
    // The function's attributes reach every stamped test: `should_panic` and `ignore` go
    // there only, doc comments stay on the function, everything else goes to both.
    let test_only =
        |a: &syn::Attribute| a.path().is_ident("should_panic") || a.path().is_ident("ignore");
    let for_tests: Vec<_> = item
        .attrs
        .iter()
        .filter(|a| !a.path().is_ident("doc"))
        .collect();
    let vis = &item.vis;
    let mut item = item.clone();
    item.attrs.retain(|a| !test_only(a));
    item.attrs.push(syn::parse_quote!(#[allow(dead_code)]));
    let item = item.into_token_stream();
    // One test per backend the `anyrt` crate has (its features decide, not the crate that
    // uses `#[anyrt::test]`): `anyrt::for_each_backend!` calls the local macro for each.
    Ok(quote! {
        #item
        #[cfg(test)]
        #[allow(non_snake_case)]
        #vis mod #name {
            macro_rules! anyrt_stamp_test {
                ($backend:ident, $runtime:ty) => {
                    #[test]
                    #(#for_tests)*
                    fn $backend() {
                        ::anyrt::testing::#runner::<$runtime, _, _>(
                            #config,
                            super::#name::<$runtime>,
                        )
                    }
                };
            }
            ::anyrt::for_each_backend!(anyrt_stamp_test);
        }
    }
    .into())
}

/// The runtime `#[anyrt::main(...)]` runs on: `None` for the default one.
fn main_runtime(args: TokenStream2) -> syn::Result<Option<TokenStream2>> {
    use syn::parse::Parser;
    if args.is_empty() {
        return Ok(None);
    }
    let bad = |span: &dyn ToTokens| {
        syn::Error::new_spanned(
            span,
            "#[anyrt::main] takes one optional setting: `backend = env` (the backend \
             `ANYRT_BACKEND` names, else the default) or `backend = \"NAME\"`",
        )
    };
    let pairs = syn::punctuated::Punctuated::<syn::MetaNameValue, syn::Token![,]>::parse_terminated
        .parse2(args.clone())?;
    let [pair] = pairs.iter().collect::<Vec<_>>()[..] else {
        return Err(bad(&args));
    };
    if !pair.path.is_ident("backend") {
        return Err(bad(&pair.path));
    }
    let make = match &pair.value {
        syn::Expr::Path(p) if p.path.is_ident("env") => quote!(::anyrt::AnyRuntime::from_env()),
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(name),
            ..
        }) => quote!(::anyrt::AnyRuntime::from_name(#name)),
        other => return Err(bad(other)),
    };
    Ok(Some(quote! {
        match #make {
            ::core::result::Result::Ok(rt) => rt,
            ::core::result::Result::Err(e) => ::core::panic!("#[anyrt::main]: {e}"),
        }
    }))
}

fn expand_main(args: TokenStream2, item: ItemFn) -> syn::Result<TokenStream> {
    let runtime = main_runtime(args)?;
    let sig = &item.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span,
            "#[anyrt::main] expects an `async fn`",
        ));
    }
    if !sig.inputs.is_empty() || !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.ident.span(),
            "#[anyrt::main] functions take no parameters and no generics",
        ));
    }
    let attrs = &item.attrs;
    let vis = &item.vis;
    let name = &sig.ident;
    let ret = &sig.output;
    let body = &item.block;
    let run = match runtime {
        None => quote!(::anyrt::block_on!(async move #body)),
        Some(rt) => quote!(::anyrt::Runtime::block_on(&#rt, async move #body)),
    };
    Ok(quote! {
        #(#attrs)*
        #vis fn #name() #ret {
            #run
        }
    }
    .into())
}
