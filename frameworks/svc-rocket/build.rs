fn main() {
    svc_build::export_framework_version("rocket", "0.5");
}
