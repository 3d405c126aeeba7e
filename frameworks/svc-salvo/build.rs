fn main() {
    svc_build::export_framework_version("salvo", "1");
}
