//! `Lazy<T>`: a subcommand's arguments that clap defines only when that subcommand is
//! parsed or its help shown. Every run of berth builds the whole command tree first, and
//! defining every subcommand's arguments each time was most of a short command's start
//! (its heap and page faults), which matters most in an emulated machine.

use clap::{ArgMatches, Args, Command, FromArgMatches};

/// `T`'s arguments, deferred (see the module's comment).
#[derive(Debug, Clone)]
pub struct Lazy<T>(pub T);

impl<T> std::ops::Deref for Lazy<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Args> Args for Lazy<T> {
    fn augment_args(cmd: Command) -> Command {
        cmd.defer(T::augment_args)
    }
    fn augment_args_for_update(cmd: Command) -> Command {
        cmd.defer(T::augment_args_for_update)
    }
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }
}

impl<T: FromArgMatches> FromArgMatches for Lazy<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Lazy)
    }
    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(matches).map(Lazy)
    }
    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(matches)
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn a_subcommand_has_its_arguments_only_once_built() {
        let cli = crate::cli::Cli::command();
        let run = cli.find_subcommand("run").expect("run");
        assert_eq!(run.get_arguments().count(), 0, "deferred");
        let mut cli = cli;
        cli.build();
        let run = cli.find_subcommand("run").expect("run");
        assert!(run.get_arguments().any(|a| a.get_long() == Some("env")));
    }

    #[test]
    fn every_deferred_subcommand_is_valid() {
        crate::cli::Cli::command().debug_assert();
    }
}
