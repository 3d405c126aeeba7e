fn main() {
    svc_build::export_framework_version("axum", "0.8");
}
