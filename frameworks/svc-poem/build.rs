fn main() {
    svc_build::export_framework_version("poem", "3");
}
