fn main() {
    svc_build::export_framework();
}
