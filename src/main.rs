//! The `bedside` command line: everything is in `bedside::cli`, one file per subcommand.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    bedside::cli::main()
}
