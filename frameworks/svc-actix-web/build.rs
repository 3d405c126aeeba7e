fn main() {
    svc_build::export_framework_version("actix-web", "4");
}
