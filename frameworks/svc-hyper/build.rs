fn main() {
    svc_build::export_framework_version("hyper", "1");
}
