fn main() {
    svc_build::export_framework_version("xitca-web", "0.8");
}
