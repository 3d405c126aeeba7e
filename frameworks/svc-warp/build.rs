fn main() {
    svc_build::export_framework_version("warp", "0.4");
}
