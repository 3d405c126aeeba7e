fn main() {
    svc_build::export_framework_version("ntex", "3");
}
