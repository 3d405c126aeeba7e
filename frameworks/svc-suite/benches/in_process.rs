//! In-process cost of one request per framework, without the network: the framework's
//! routing, handler call and response building, as each framework's own test harness drives
//! it (axum's and hyper's service call, actix-web's test service, rocket's local client,
//! salvo's and poem's test clients, warp's test requests, ntex's test service, and
//! xitca-web's service call).
//! Each measured request also reads the whole response body.
//!
//! Every framework is timed the same way: `iter_custom` runs the requests in a loop inside
//! one future on a single-threaded runtime, so the runtime's setup is never measured.
//! End-to-end numbers over TCP come from `bench-runner`, not from here.

use std::time::{Duration, Instant};

use actix_web::test::{TestRequest, call_service, init_service, read_body};
use bench_core::catalog::Framework;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use hyper::Request;
use rocket::local::asynchronous::Client;
use salvo::test::{ResponseExt, TestClient};
use tower::ServiceExt;

/// The requests measured: the paths every framework serves.
const PATHS: [(&str, &str); 2] = [("hello", "/hello"), ("sleep_0", "/sleep/0")];

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

async fn axum_requests(path: &str, iters: u64) -> Duration {
    let app = svc_axum::app();
    let start = Instant::now();
    for _ in 0..iters {
        let request = Request::get(path).body(axum::body::Body::empty()).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(response_ok(&body));
    }
    start.elapsed()
}

async fn hyper_requests(path: &str, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        let request = Request::get(path).body(()).unwrap();
        let response = svc_hyper::handle(request).await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(response_ok(&body));
    }
    start.elapsed()
}

async fn actix_requests(path: &str, iters: u64) -> Duration {
    let app = init_service(actix_web::App::new().configure(svc_actix_web::configure)).await;
    let start = Instant::now();
    for _ in 0..iters {
        let response = call_service(&app, TestRequest::get().uri(path).to_request()).await;
        let body = read_body(response).await;
        assert!(response_ok(&body));
    }
    start.elapsed()
}

async fn rocket_requests(path: &str, iters: u64) -> Duration {
    let config = svc_rocket::config(
        ([127, 0, 0, 1], 0).into(),
        std::num::NonZeroUsize::MIN,
        Duration::ZERO,
    );
    let client = Client::untracked(svc_rocket::rocket(config))
        .await
        .expect("a valid rocket instance");
    let start = Instant::now();
    for _ in 0..iters {
        let response = client.get(path).dispatch().await;
        let body = response.into_bytes().await.unwrap_or_default();
        assert!(response_ok(&body));
    }
    start.elapsed()
}

async fn salvo_requests(path: &str, iters: u64) -> Duration {
    let service = svc_salvo::service();
    let url = format!("http://127.0.0.1{path}");
    let start = Instant::now();
    for _ in 0..iters {
        let mut response = TestClient::get(&url).send(&service).await;
        let body = response.take_bytes(None).await.unwrap_or_default();
        assert!(response_ok(&body));
    }
    start.elapsed()
}

async fn poem_requests(path: &str, iters: u64) -> Duration {
    let client = poem::test::TestClient::new(svc_poem::app());
    let start = Instant::now();
    for _ in 0..iters {
        let response = client.get(path).send().await;
        let body = response
            .0
            .into_body()
            .into_bytes()
            .await
            .unwrap_or_default();
        assert!(response_ok(&body));
    }
    start.elapsed()
}

async fn warp_requests(path: &str, iters: u64) -> Duration {
    let routes = svc_warp::routes();
    let start = Instant::now();
    for _ in 0..iters {
        let response = warp::test::request().path(path).reply(&routes).await;
        assert!(response_ok(response.body()));
    }
    start.elapsed()
}

async fn ntex_requests(path: &str, iters: u64) -> Duration {
    use ntex::web::test;
    let app = test::init_service(svc_ntex::app()).await;
    let start = Instant::now();
    for _ in 0..iters {
        let response =
            test::call_service(&app, test::TestRequest::with_uri(path).to_request()).await;
        let body = test::read_body(response).await;
        assert!(response_ok(&body));
    }
    start.elapsed()
}

async fn xitca_requests(path: &str, iters: u64) -> Duration {
    use xitca_web::service::Service;
    let service = svc_xitca_web::app().call(()).await.unwrap();
    let uri: xitca_web::http::Uri = path.parse().unwrap();
    let start = Instant::now();
    for _ in 0..iters {
        let mut request = xitca_web::http::WebRequest::default();
        *request.uri_mut() = uri.clone();
        let response = service.call(request).await.unwrap();
        let body = xitca_web::test::collect_body(response.into_body())
            .await
            .unwrap_or_default();
        assert!(response_ok(&body));
    }
    start.elapsed()
}

/// A cheap check that the measured request really succeeded, so a broken route cannot
/// benchmark as a fast 404.
fn response_ok(body: &[u8]) -> bool {
    body.starts_with(br#"{"message""#) || body.starts_with(br#"{"slept_ms""#)
}

/// Times `iters` requests of `path` on `framework`, on the runtime its harness needs. The
/// match is exhaustive, so a framework added to the catalog does not build here until it
/// has its function above.
fn time_requests(framework: Framework, path: &'static str, iters: u64) -> Duration {
    match framework {
        Framework::Axum => tokio_runtime().block_on(axum_requests(path, iters)),
        Framework::ActixWeb => actix_web::rt::System::new().block_on(actix_requests(path, iters)),
        Framework::Rocket => tokio_runtime().block_on(rocket_requests(path, iters)),
        Framework::Hyper => tokio_runtime().block_on(hyper_requests(path, iters)),
        Framework::Salvo => tokio_runtime().block_on(salvo_requests(path, iters)),
        Framework::Poem => tokio_runtime().block_on(poem_requests(path, iters)),
        Framework::Ntex => ntex::rt::System::new("bench", ntex::rt::DefaultRuntime)
            .block_on(ntex_requests(path, iters)),
        Framework::Warp => tokio_runtime().block_on(warp_requests(path, iters)),
        Framework::XitcaWeb => tokio_runtime().block_on(xitca_requests(path, iters)),
    }
}

fn in_process(c: &mut Criterion) {
    for (name, path) in PATHS {
        let mut group = c.benchmark_group(name);
        for &framework in Framework::ALL {
            group.bench_function(BenchmarkId::from_parameter(framework), |b| {
                b.iter_custom(|iters| time_requests(framework, path, iters))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // Short enough to run often: 9 frameworks × 2 paths in about two minutes.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = in_process
}
criterion_main!(benches);
