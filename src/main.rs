fn main() {
    std::process::exit(jetdoc::main_with_args(std::env::args_os()));
}
