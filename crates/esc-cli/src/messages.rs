//! User-facing text: help prose, fixed messages and the helpers that print
//! to stdout/stderr. Commands build output here so wording stays in one place.

use std::io::Write;

/// Long description of bare `esc` (spec/CLI.md § 1).
pub(crate) const LONG_ABOUT: &str = "Pulumi ESC - Manage environments, secrets, and configuration

To begin working with Pulumi ESC, run the `esc env init` command:

    $ esc env init

This will prompt you to create a new environment to hold secrets and configuration.

The most common commands from there are:

    - esc env get  : Get a property in an environment definition
    - esc env set  : Set a property in an environment definition
    - esc env edit : Edit an environment definition
    - esc env ls   : List available environments
    - esc run      : Run a command within the context of an environment
    - esc open     : Open an environment and access its contents

Without `esc login URL`, esc works on a local store under $ESC_HOME (default ~/.esc): no server needed.";

/// Help epilogue of `login`: the variables that choose the server and token.
pub(crate) const LOGIN_HELP: &str = "Example:
  esc login https://esc.example.com --token \"$TOKEN\"
  PULUMI_ACCESS_TOKEN=\"$TOKEN\" esc login https://esc.example.com
  esc login --local

Environment variables (every command reads them, e.g. in CI without `esc login`):
  PULUMI_BACKEND_URL, else PULUMI_API
      the server, in place of the saved one (neither and none saved: the
      local store)
  PULUMI_ACCESS_TOKEN, else ESC_ACCESS_TOKEN
      the token for that server, in place of the saved one; stderr says
      \"Logging in using access token from <VARIABLE>\" when it is not the
      saved token. A server from the variables and no token anywhere:
      \"no credentials, please run `esc login` to log in\"
Nothing is saved for the variables. `esc login` takes its URL and token from
them when not given, and saves the server, token, --insecure and
--default-org in $ESC_HOME/credentials.json (mode 0600).";

/// Help epilogue of `run`, including where we differ from the reference.
pub(crate) const RUN_HELP: &str = "Example:
  esc run myproject/dev -- printenv GREETING
  esc run myproject/dev -i -- bash
  esc run myproject/dev -- echo '${aws.region}'

The command runs with the environment's `environmentVariables` set and each
entry of `files` written to a private temporary file (mode 0600) whose path is
the variable's value; the files are removed when the command ends, also when it
is killed by a signal. Secret values in the command's output are replaced by
[secret] unless -i/--interactive is given. Arguments may use ${path}
interpolation into the environment.

Exit status: esc exits with the command's own exit status (128+N when it was
killed by signal N). The Pulumi ESC CLI always exits 1 on failure; scripts that
check for exactly 1 may need adjusting.";

/// Printed after `esc env init`.
pub(crate) fn environment_created(name: &str) -> String {
    format!("Environment created: {name}\n")
}

/// Printed after a successful edit or rollback.
pub(crate) const ENVIRONMENT_UPDATED: &str = "Environment updated.\n";

/// Printed after a successful `env provider` update.
pub(crate) const PROVIDER_UPDATED: &str = "Provider updated.\n";

/// Write `text` to stdout (errors, such as a closed pipe, are returned).
pub(crate) fn out(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Write `text` to stderr, ignoring failures (nowhere left to report them).
/// On a colour terminal the severity word starting a line is coloured
/// (`ui::paint_stderr`); elsewhere the bytes are `text`'s.
pub(crate) fn err(text: &str) {
    let text = crate::ui::paint_stderr(text);
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// cobra's argument-count messages.
pub(crate) fn wrong_arg_count(min: usize, max: Option<usize>, received: usize) -> String {
    match max {
        Some(max) if max == min => format!("accepts {min} arg(s), received {received}"),
        Some(max) if min == 0 => format!("accepts at most {max} arg(s), received {received}"),
        Some(max) => format!("accepts between {min} and {max} arg(s), received {received}"),
        None => format!("requires at least {min} arg(s), only received {received}"),
    }
}
