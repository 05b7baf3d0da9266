//! The `gitops` binary: hands over to the controllers crate's command line.

fn main() -> std::process::ExitCode {
    gitops_controllers::cli::main()
}
