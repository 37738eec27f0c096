//! anyrt's conformance suite, as a library: every test body is a public generic function
//! over [`Runtime`], and [`suite!`] stamps one `#[test]` per body for a backend type, in any
//! crate, in tree or out of it.
//!
//! A backend (or a wrapper around one) proves it keeps the contract with one line in its
//! own tests (`tests/conformance.rs`; here for anyrt's Tokio backend):
//!
//! ```
//! // One `#[test]` per case, named `<area>::<case>`: `rt_spawn::spawn_and_join`, ...
//! anyrt_conformance::suite!(anyrt_tokio::Tokio, anyrt_tokio::Tokio::new());
//! # fn main() {}
//! ```
//!
//! The first argument is the runtime type, the second an expression that starts a fresh
//! runtime (evaluated once per test, in the calling module's scope), and an optional third
//! a function that stops it at the end of each test (`fn(&MyRuntime)`; by default the
//! runtime is only dropped). Each test runs on a thread of its own and fails after 60 s
//! instead of hanging (see [`testing`]).
//!
//! The cases (87 of them on Unix, 79 elsewhere) cover spawning, joining, aborting and panics
//! ([`rt_spawn`]), task sets and cancellation ([`structured`]), stack use
//! ([`rt_stack`]), timers ([`time_sleep`]), TCP ([`net_tcp`]),
//! UDP ([`net_udp`]) and Unix (`net_unix`, on Unix) sockets, runtime-agnostic channels ([`sync_channels`]) and
//! blocking-style code ([`implicit`]). Each body can also be called on its own:
//!
//! ```
//! use anyrt_core::Runtime;
//!
//! let rt = anyrt_tokio::Tokio::new();
//! rt.block_on(anyrt_conformance::rt_spawn::spawn_and_join(rt.clone()));
//! ```

use std::time::Duration;

pub use anyrt_core::Runtime;
pub use anyrt_core::backend::testing;

pub mod implicit;
pub mod net_tcp;
pub mod net_udp;
#[cfg(unix)]
pub mod net_unix;
pub mod rt_spawn;
pub mod rt_stack;
pub mod structured;
pub mod support;
pub mod sync_channels;
pub mod time_sleep;

/// A generous bound for "this should be quick" on a loaded 2-core CI machine.
pub(crate) const PROMPT: Duration = Duration::from_secs(5);

pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Stamps the whole suite for a runtime type: `suite!(RuntimeType, start_expression)` or
/// `suite!(RuntimeType, start_expression, stop_function)`. See the crate docs.
#[macro_export]
macro_rules! suite {
    ($rt:ty, $make:expr $(,)?) => {
        $crate::suite!($rt, $make, |_: &$rt| {});
    };
    (@case async, $module:ident, $name:ident, ($rt:ty), ($make:expr), ($stop:expr)) => {
        #[test]
        fn $name() {
            $crate::testing::run_async_test(
                ::core::stringify!($rt),
                $crate::testing::DEFAULT_TEST_TIMEOUT,
                move || $make,
                $stop,
                $crate::$module::$name::<$rt>,
            );
        }
    };
    (@case implicit, $module:ident, $name:ident, ($rt:ty), ($make:expr), ($stop:expr)) => {
        #[test]
        fn $name() {
            $crate::testing::run_implicit_test(
                ::core::stringify!($rt),
                $crate::testing::DEFAULT_TEST_TIMEOUT,
                move || $make,
                $stop,
                $crate::$module::$name::<$rt>,
            );
        }
    };
    ($rt:ty, $make:expr, $stop:expr $(,)?) => {
        #[allow(non_snake_case)]
        mod implicit {
            #[allow(unused_imports)]
            use super::*;
            $crate::suite!(@case implicit, implicit, implicit_echo_with_200_concurrent_clients, ($rt), ($make), ($stop));
            $crate::suite!(@case implicit, implicit, bufread_line_protocol, ($rt), ($make), ($stop));
            $crate::suite!(@case implicit, implicit, read_timeout_then_the_stream_still_works, ($rt), ($make), ($stop));
            $crate::suite!(@case implicit, implicit, the_longest_timeout_reads_back_as_set, ($rt), ($make), ($stop));
            $crate::suite!(@case implicit, implicit, udp_round_trip, ($rt), ($make), ($stop));
            $crate::suite!(@case implicit, implicit, block_on_a_channel_fed_by_an_async_task, ($rt), ($make), ($stop));
            $crate::suite!(@case implicit, implicit, sleep_lower_bound, ($rt), ($make), ($stop));
            $crate::suite!(@case implicit, implicit, join_of_a_panicking_thread, ($rt), ($make), ($stop));
            $crate::suite!(@case implicit, implicit, six_hundred_threads_meet_at_a_barrier, ($rt), ($make), ($stop));
            $crate::suite!(@case async, implicit, blocking_calls_inside_async_tasks, ($rt), ($make), ($stop));
            $crate::suite!(@case implicit, implicit, a_stream_moves_from_a_plain_thread_to_an_implicit_thread, ($rt), ($make), ($stop));
            $crate::suite!(@case implicit, implicit, the_direct_and_the_general_path_carry_the_same_bytes, ($rt), ($make), ($stop));
            #[cfg(unix)]
            $crate::suite!(@case implicit, implicit, unix_sockets_in_blocking_style, ($rt), ($make), ($stop));
            $crate::suite!(@case implicit, implicit, implicit_sync_primitives, ($rt), ($make), ($stop));
            $crate::suite!(@case implicit, implicit, a_stream_is_shared_and_cloned, ($rt), ($make), ($stop));
            $crate::suite!(@case implicit, implicit, cancel_reaches_blocked_and_later_socket_calls, ($rt), ($make), ($stop));
            $crate::suite!(@case implicit, implicit, implicit_task_group_cancels_blocked_children_and_body, ($rt), ($make), ($stop));
            $crate::suite!(@case implicit, implicit, threads_that_end_as_they_are_woken_leave_every_worker_running, ($rt), ($make), ($stop));
        }
        #[allow(non_snake_case)]
        mod net_tcp {
            #[allow(unused_imports)]
            use super::*;
            $crate::suite!(@case async, net_tcp, echo_one_mebibyte, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, fifty_concurrent_connections, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, half_close, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, poll_close_sends_eof, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, connection_refused, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, address_in_use, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, read_timeout_then_the_stream_still_works, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, connect_by_host_name, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, ipv6_loopback, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, bad_addresses_are_invalid_input, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, dropping_a_socket_closes_it_at_once, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, a_finished_task_is_gone_even_after_waiting_under_a_long_timeout, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, socket_futures_can_be_spawned, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, connect_timeout_connects_or_times_out, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, socket_options_through_socket2, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, sockets_are_taken_over_from_std, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, listen_options_apply, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, split_halves_work_apart_and_reunite, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, peek_and_option_methods, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, five_hundred_simultaneous_connects_fit_the_backlog, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_tcp, read_uninit_writes_only_what_it_reads, ($rt), ($make), ($stop));
        }
        #[allow(non_snake_case)]
        mod net_udp {
            #[allow(unused_imports)]
            use super::*;
            $crate::suite!(@case async, net_udp, send_to_and_recv_from, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_udp, connected_send_and_recv, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_udp, recv_waits_without_blocking_others, ($rt), ($make), ($stop));
        }
        #[cfg(unix)]
        #[allow(non_snake_case)]
        mod net_unix {
            #[allow(unused_imports)]
            use super::*;
            $crate::suite!(@case async, net_unix, echo_over_a_path_socket, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_unix, half_close, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_unix, stream_pair, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_unix, path_cleanup_and_errors, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_unix, abstract_names, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_unix, datagrams, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_unix, unix_sockets_are_taken_over_from_std, ($rt), ($make), ($stop));
            $crate::suite!(@case async, net_unix, read_uninit_on_a_unix_stream, ($rt), ($make), ($stop));
        }
        #[allow(non_snake_case)]
        mod rt_spawn {
            #[allow(unused_imports)]
            use super::*;
            $crate::suite!(@case async, rt_spawn, spawn_and_join, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, spawned_task_runs_without_being_joined, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, dropping_the_handle_detaches, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, abort_cancels_at_the_next_suspension_point, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, abort_after_completion_keeps_the_output, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, a_panic_is_caught_and_the_runtime_goes_on, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, spawn_blocking_runs_off_the_workers, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, yield_now_lets_others_run, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, the_name_is_the_backend, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, large_futures_run_and_are_gone_when_joined, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, tasks_that_keep_yielding_do_not_starve_the_others, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, abort_reaches_a_task_blocked_in_blocking_style_code, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, a_handle_polled_again_after_completion_reports_cancellation, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, aborting_a_started_blocking_job_reports_cancellation, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, a_join_error_is_an_io_error_of_kind_other, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, abort_stops_a_task_whose_handle_nobody_awaits, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, an_abort_as_the_task_starts_is_not_lost, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, a_128_kib_future_spawned_from_a_2_mib_thread, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_spawn, a_panic_in_a_futures_drop_is_reported_and_the_runtime_serves_on, ($rt), ($make), ($stop));
        }
        #[allow(non_snake_case)]
        mod rt_stack {
            #[allow(unused_imports)]
            use super::*;
            $crate::suite!(@case async, rt_stack, a_thousand_deep_async_recursion, ($rt), ($make), ($stop));
            $crate::suite!(@case async, rt_stack, a_64_kib_array_passed_by_value, ($rt), ($make), ($stop));
            $crate::suite!(@case implicit, rt_stack, a_64_kib_stack_buffer_in_blocking_style_code, ($rt), ($make), ($stop));
        }
        #[allow(non_snake_case)]
        mod structured {
            #[allow(unused_imports)]
            use super::*;
            $crate::suite!(@case async, structured, join_set_joins_aborts_and_drops, ($rt), ($make), ($stop));
            $crate::suite!(@case async, structured, cancellation_tokens_cancel_down_the_tree, ($rt), ($make), ($stop));
            $crate::suite!(@case async, structured, task_group_waits_for_children_and_the_first_error_cancels_the_rest, ($rt), ($make), ($stop));
            $crate::suite!(@case async, structured, task_group_panics_body_errors_and_drop, ($rt), ($make), ($stop));
            $crate::suite!(@case async, structured, task_group_start, ($rt), ($make), ($stop));
            $crate::suite!(@case async, structured, cancel_scopes_deadlines_and_shield, ($rt), ($make), ($stop));
            $crate::suite!(@case async, structured, join_set_drains_then_aborts, ($rt), ($make), ($stop));
        }
        #[allow(non_snake_case)]
        mod sync_channels {
            #[allow(unused_imports)]
            use super::*;
            $crate::suite!(@case async, sync_channels, async_channel_between_tasks, ($rt), ($make), ($stop));
            $crate::suite!(@case async, sync_channels, futures_oneshot_between_tasks, ($rt), ($make), ($stop));
        }
        #[allow(non_snake_case)]
        mod time_sleep {
            #[allow(unused_imports)]
            use super::*;
            $crate::suite!(@case async, time_sleep, sleep_never_fires_early, ($rt), ($make), ($stop));
            $crate::suite!(@case async, time_sleep, sleep_until_a_deadline, ($rt), ($make), ($stop));
            $crate::suite!(@case async, time_sleep, many_concurrent_sleeps, ($rt), ($make), ($stop));
            $crate::suite!(@case async, time_sleep, timeout_fires, ($rt), ($make), ($stop));
            $crate::suite!(@case async, time_sleep, timeout_passes_the_value_through, ($rt), ($make), ($stop));
            $crate::suite!(@case async, time_sleep, interval_ticks_on_schedule, ($rt), ($make), ($stop));
            $crate::suite!(@case async, time_sleep, select_of_a_long_sleep_and_a_channel, ($rt), ($make), ($stop));
            $crate::suite!(@case async, time_sleep, many_timers_in_one_task, ($rt), ($make), ($stop));
            $crate::suite!(@case async, time_sleep, an_interval_too_long_for_instant_ticks_once, ($rt), ($make), ($stop));
            $crate::suite!(@case async, time_sleep, timers_are_branches_of_futures_select, ($rt), ($make), ($stop));
            $crate::suite!(@case async, time_sleep, reset_sleep_moves_the_deadline, ($rt), ($make), ($stop));
        }
    };
}
