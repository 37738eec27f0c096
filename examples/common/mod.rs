//! What the examples share: running a program on the backend chosen at run time, and tiny
//! argument parsing.

/// Command-line options: `--name value` pairs and bare `--flag`s.
pub(crate) struct Args {
    pairs: Vec<(String, Option<String>)>,
}

impl Args {
    /// Parses `std::env::args()`; `flags` lists the options that take no value.
    pub(crate) fn parse(flags: &[&str]) -> Result<Args, String> {
        let mut pairs = Vec::new();
        let mut it = std::env::args().skip(1);
        while let Some(a) = it.next() {
            let Some(name) = a.strip_prefix("--") else {
                return Err(format!("unexpected argument `{a}`"));
            };
            if flags.contains(&name) {
                pairs.push((name.to_owned(), None));
            } else {
                let v = it
                    .next()
                    .ok_or_else(|| format!("`--{name}` needs a value"))?;
                pairs.push((name.to_owned(), Some(v)));
            }
        }
        Ok(Args { pairs })
    }

    /// The value of `--name`, if given.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Parses `--name` as a number, with a default.
    pub(crate) fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("`--{name} {v}`: expected a number")),
        }
    }

    /// Rejects options not in `known`.
    pub(crate) fn only(&self, known: &[&str]) -> Result<(), String> {
        match self
            .pairs
            .iter()
            .find(|(n, _)| !known.contains(&n.as_str()))
        {
            Some((n, _)) => Err(format!("unknown option `--{n}`")),
            None => Ok(()),
        }
    }
}

/// Exits with `msg` on standard error and status 2.
pub(crate) fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(2)
}

/// The echo examples' options: `--backend`, `--serve ADDR`, `--conns`, `--rounds`, `--size`.
pub(crate) struct EchoOptions {
    pub(crate) backend: Option<String>,
    pub(crate) serve: Option<String>,
    pub(crate) conns: usize,
    pub(crate) rounds: usize,
    pub(crate) size: usize,
}

impl EchoOptions {
    /// Parses the command line, exiting with a message on bad input.
    pub(crate) fn from_args() -> EchoOptions {
        let args = Args::parse(&[]).unwrap_or_else(|e| fail(&e));
        args.only(&["backend", "serve", "conns", "rounds", "size"])
            .unwrap_or_else(|e| fail(&e));
        let opts = EchoOptions {
            backend: args.get("backend").map(str::to_owned),
            serve: args.get("serve").map(str::to_owned),
            conns: args.num("conns", 50).unwrap_or_else(|e| fail(&e)),
            rounds: args.num("rounds", 1000).unwrap_or_else(|e| fail(&e)),
            size: args.num("size", 64).unwrap_or_else(|e| fail(&e)),
        };
        if opts.size == 0 {
            fail("`--size` must be at least 1");
        }
        opts
    }

    /// Prints what a client burst measured.
    pub(crate) fn report(&self, label: &str, secs: f64, bytes: u64) {
        let trips = self.conns * self.rounds;
        println!(
            "backend {label}: {trips} round trips over {} connections in {secs:.3} s, \
             {:.0} round trips/s, {bytes} bytes checked",
            self.conns,
            trips as f64 / secs
        );
    }
}

/// Runs `program` on the backend called `backend` (without one: the one `ANYRT_BACKEND`
/// names, or the default), chosen at run time through `anyrt::AnyRuntime`; exits with a
/// message naming `what` if it cannot start or the program fails.
pub(crate) fn run_on(
    backend: Option<&str>,
    what: &str,
    program: impl FnOnce(anyrt::AnyRuntime) -> std::io::Result<()>,
) {
    let rt = match backend {
        Some(name) => anyrt::AnyRuntime::from_name(name),
        None => anyrt::AnyRuntime::from_env(),
    };
    match rt {
        Err(e) => fail(&e.to_string()),
        Ok(rt) => {
            if let Err(e) = program(rt) {
                fail(&format!("{what} failed: {e}"));
            }
        }
    }
}
