//! A page as a reader's browser shows it: [`render`] loads a local HTML file in headless
//! Chromium (Debian's, never a downloaded one) with JavaScript off, and returns what went
//! wrong or came out: console errors, requests that left the machine, the box of every chart,
//! a full-page screenshot and how much of it is not blank.
//!
//! Chromium is driven over the DevTools protocol with `headless_chrome`: synchronous, so no
//! runtime of its own next to the runner's; it launches a given executable with our flags and
//! kills it when dropped; its protocol types are generated from the protocol's own JSON,
//! shipped in the crate (the `offline` feature), and its browser download (`fetch`) is off.
//! `chromiumoxide`, the other maintained client, is async and would bring a second protocol
//! crate of the same size for the same few calls.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use headless_chrome::browser::tab::RequestPausedDecision;
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::protocol::cdp::{DOM, Emulation, Fetch, Log, Network, Page, Runtime};
use headless_chrome::{Browser, LaunchOptions, Tab};
use tempfile::TempDir;

/// Where Debian's `chromium` package puts the browser.
pub const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// The environment variable naming another Chromium (or Chrome) executable.
pub const CHROMIUM_VAR: &str = "BENCHLAB_CHROMIUM";

/// The window's width in CSS pixels, and so the screenshot's.
pub const WIDTH: u32 = 1280;

/// The screenshot is as high as the page, up to this many pixels.
pub const MAX_HEIGHT: u32 = 16_000;

/// Below this share of inked pixels a page counts as blank.
pub const MIN_INKED_SHARE: f64 = 0.01;

/// A pixel whose every channel is at least this is near-white: paper, not ink.
const NEAR_WHITE: u8 = 240;

/// How long the page may take to load.
const LOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one protocol call may take (a long page's screenshot takes seconds).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// How long Chromium's helper processes may outlive the browser process before they are
/// killed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What Chromium made of a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendering {
    /// The page's `figure` elements.
    pub figures: usize,
    /// The figures that hold an `svg`, with its box, in document order.
    pub charts: Vec<ChartBox>,
    /// Console and log entries of level error, and uncaught exceptions.
    pub console_errors: Vec<String>,
    /// Every request for something other than a `file:` or `data:` URL (each was blocked).
    pub network_requests: Vec<String>,
    /// The screenshot's width in pixels, [`WIDTH`].
    pub screenshot_width: u32,
    /// The screenshot's height in pixels: the page's, up to [`MAX_HEIGHT`].
    pub screenshot_height: u32,
    /// The share of the screenshot's pixels that are not near-white, from 0 to 1.
    pub inked_share: f64,
}

/// A chart as laid out: its figure's id and its `svg`'s border box in CSS pixels (0 × 0 when
/// it has no box, as with `display: none`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartBox {
    pub id: String,
    pub width: u32,
    pub height: u32,
}

impl Rendering {
    /// Every way the page fails to render as a self-contained report, in words; empty when
    /// it renders.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for error in &self.console_errors {
            problems.push(format!("console error: {error}"));
        }
        for url in &self.network_requests {
            problems.push(format!("requested from the network (blocked): {url}"));
        }
        if self.figures > 0 && self.charts.is_empty() {
            problems.push(format!(
                "no chart at all: none of the {} figures holds an svg",
                self.figures
            ));
        } else if self.charts.len() < self.figures {
            problems.push(format!(
                "{} of the {} figures hold no svg",
                self.figures - self.charts.len(),
                self.figures
            ));
        }
        for chart in &self.charts {
            if chart.width == 0 || chart.height == 0 {
                problems.push(format!(
                    "chart '{}' is laid out {} × {} px",
                    chart.id, chart.width, chart.height
                ));
            }
        }
        if self.inked_share < MIN_INKED_SHARE {
            problems.push(format!(
                "the page looks blank: {:.2} % of its pixels are not near-white (at least {} % \
                 expected)",
                self.inked_share * 100.0,
                MIN_INKED_SHARE * 100.0
            ));
        }
        problems
    }
}

/// Renders `page`, a local HTML file, in headless Chromium 1280 px wide with JavaScript off
/// and the network blocked, and writes a full-page PNG screenshot (at most 16 000 px high)
/// to `png`. Chromium is shut down before this returns, whatever happens.
///
/// # Errors
/// When Chromium is missing ([`CHROMIUM_VAR`], else [`DEFAULT_CHROMIUM`]) or fails, when the
/// page does not load within 30 s, or when the screenshot cannot be written or decoded.
pub fn render(page: &Path, png: &Path) -> Result<Rendering> {
    let chromium = chromium(std::env::var_os(CHROMIUM_VAR))?;
    let page = page
        .canonicalize()
        .with_context(|| format!("could not find the page {}", page.display()))?;
    let url = url::Url::from_file_path(&page)
        .map_err(|()| anyhow!("{} has no file: URL", page.display()))?;

    let session = Session::start(&chromium)?;
    let tab = session
        .browser()
        .new_tab()
        .context("could not open a tab in Chromium")?;
    let seen = Seen::listen(&tab)?;
    tab.call_method(Emulation::SetScriptExecutionDisabled { value: true })
        .context("could not turn JavaScript off in Chromium")?;
    load(&tab, &seen, url.as_str()).with_context(|| format!("could not load {url} in Chromium"))?;
    let (figures, charts) =
        measure_charts(&tab).with_context(|| format!("could not measure the charts of {url}"))?;
    let screenshot = screenshot(&tab).context("could not take Chromium's screenshot")?;
    drop(tab);
    drop(session);

    std::fs::write(png, &screenshot)
        .with_context(|| format!("could not write {}", png.display()))?;
    let ink = Ink::of_png(&screenshot)
        .with_context(|| format!("could not read the screenshot {}", png.display()))?;
    Ok(Rendering {
        figures,
        charts,
        console_errors: take(&seen.console_errors),
        network_requests: take(&seen.network_requests),
        screenshot_width: ink.width,
        screenshot_height: ink.height,
        inked_share: ink.share,
    })
}

/// The executable to run: `$BENCHLAB_CHROMIUM` when set, else Debian's.
fn chromium(from_env: Option<OsString>) -> Result<PathBuf> {
    let (path, source) = match from_env {
        Some(path) if !path.is_empty() => (PathBuf::from(path), CHROMIUM_VAR),
        _ => (PathBuf::from(DEFAULT_CHROMIUM), "the default"),
    };
    if !path.is_file() {
        bail!(
            "no Chromium at {} ({source}): install Debian's with `apt-get install chromium` \
             or scripts/ensure-chromium.sh, or name another executable in {CHROMIUM_VAR}",
            path.display()
        );
    }
    Ok(path)
}

/// Chromium with a fresh profile, shut down when dropped: the protocol's `Browser.close`, then
/// SIGKILL to the browser process, then SIGKILL to any of its helper processes still there
/// after [`SHUTDOWN_GRACE`]; the profile goes last.
struct Session {
    browser: Option<Browser>,
    _profile: TempDir,
}

impl Session {
    fn start(chromium: &Path) -> Result<Self> {
        let profile = tempfile::Builder::new()
            .prefix("benchlab-chromium-")
            .tempdir()
            .context("could not make a profile directory for Chromium")?;
        let extra_args = [
            "--disable-component-update",
            "--hide-scrollbars",
            "--mute-audio",
            "--no-default-browser-check",
        ];
        let options = LaunchOptions::default_builder()
            .path(Some(chromium.to_path_buf()))
            .headless(true)
            // Chromium refuses to run as root with its sandbox.
            .sandbox(!nix::unistd::geteuid().is_root())
            .enable_gpu(false)
            .window_size(Some((WIDTH, 800)))
            .user_data_dir(Some(profile.path().to_path_buf()))
            .args(extra_args.iter().map(std::ffi::OsStr::new).collect())
            .idle_browser_timeout(CALL_TIMEOUT)
            .build()
            .context("could not set Chromium's options")?;
        let browser = Browser::new(options)
            .with_context(|| format!("could not start Chromium at {}", chromium.display()))?;
        Ok(Self {
            browser: Some(browser),
            _profile: profile,
        })
    }

    fn browser(&self) -> &Browser {
        self.browser.as_ref().expect("present until dropped")
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let helpers = self
            .browser
            .as_ref()
            .and_then(Browser::get_process_id)
            .map(descendants)
            .unwrap_or_default();
        // Sends Browser.close, then kills the browser process and waits for it.
        drop(self.browser.take());
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        let mut alive: Vec<Process> = helpers;
        while !alive.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            alive.retain(Process::is_alive);
        }
        for process in alive {
            // The pid is ours as long as its start time matches (no reuse in between).
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(process.pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// A process as `/proc` knows it: its id and its start time, which together name it even
/// when the id is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Process {
    pid: i32,
    start: u64,
}

impl Process {
    fn is_alive(&self) -> bool {
        stat(self.pid).is_some_and(|stat| stat.start == self.start && stat.state != 'Z')
    }
}

/// The fields of `/proc/<pid>/stat` that matter here.
struct Stat {
    state: char,
    parent: i32,
    start: u64,
}

fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// `pid (comm) state ppid … starttime …`: the command may hold spaces and parentheses, so the
/// fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        state: fields.first()?.chars().next()?,
        parent: fields.get(1)?.parse().ok()?,
        // Field 22 of the line, the 20th after the command.
        start: fields.get(19)?.parse().ok()?,
    })
}

/// Every living descendant of `pid`.
fn descendants(pid: u32) -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children: BTreeMap<i32, Vec<Process>> = BTreeMap::new();
    for entry in entries.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some(stat) = stat(child) {
            children.entry(stat.parent).or_default().push(Process {
                pid: child,
                start: stat.start,
            });
        }
    }
    let mut found = Vec::new();
    let mut parents = vec![i32::try_from(pid).unwrap_or(i32::MAX)];
    while let Some(parent) = parents.pop() {
        for child in children.remove(&parent).unwrap_or_default() {
            parents.push(child.pid);
            found.push(child);
        }
    }
    found
}

/// What the tab's events said while the page loaded.
#[derive(Default)]
struct Seen {
    console_errors: Mutex<Vec<String>>,
    network_requests: Mutex<Vec<String>>,
    /// The loader ids of the documents whose `load` event fired.
    loaded: Mutex<Vec<String>>,
}

impl Seen {
    /// Listens to the tab's log, runtime, network and life-cycle events, and blocks every
    /// request that would leave the machine.
    fn listen(tab: &Tab) -> Result<Arc<Self>> {
        let seen = Arc::new(Self::default());
        let listener = Arc::clone(&seen);
        tab.add_event_listener(Arc::new(move |event: &Event| listener.on_event(event)))
            .context("could not listen to Chromium's events")?;
        let interceptor = Arc::clone(&seen);
        tab.enable_request_interception(Arc::new(
            move |_transport, _session, paused: Fetch::events::RequestPausedEvent| {
                let url = paused.params.request.url;
                if is_local(&url) {
                    return RequestPausedDecision::Continue(None);
                }
                interceptor.network_request(url);
                RequestPausedDecision::Fail(Fetch::FailRequest {
                    request_id: paused.params.request_id,
                    error_reason: Network::ErrorReason::BlockedByClient,
                })
            },
        ))
        .context("could not intercept Chromium's requests")?;
        tab.enable_fetch(
            Some(&[Fetch::RequestPattern {
                url_pattern: Some("*".to_owned()),
                resource_Type: None,
                request_stage: None,
            }]),
            None,
        )
        .context("could not intercept Chromium's requests")?;
        tab.enable_log()
            .and_then(|tab| tab.enable_runtime())
            .and_then(|tab| {
                tab.call_method(Network::Enable {
                    max_total_buffer_size: None,
                    max_resource_buffer_size: None,
                    max_post_data_size: None,
                    report_direct_socket_traffic: None,
                    enable_durable_messages: None,
                })
            })
            .context("could not enable Chromium's log, runtime and network events")?;
        Ok(seen)
    }

    fn on_event(&self, event: &Event) {
        match event {
            Event::LogEntryAdded(added)
                if added.params.entry.level == Log::LogEntryLevel::Error =>
            {
                let entry = &added.params.entry;
                let place = entry
                    .url
                    .as_deref()
                    .map(|url| format!(" ({url})"))
                    .unwrap_or_default();
                self.console_error(format!("{:?}: {}{place}", entry.source, entry.text));
            }
            Event::RuntimeExceptionThrown(thrown) => {
                let details = &thrown.params.exception_details;
                let description = details
                    .exception
                    .as_ref()
                    .and_then(|exception| exception.description.as_deref())
                    .unwrap_or_default();
                self.console_error(format!(
                    "exception: {} {description} ({}:{}:{})",
                    details.text,
                    details.url.as_deref().unwrap_or("?"),
                    details.line_number,
                    details.column_number
                ));
            }
            Event::RuntimeConsoleAPICalled(called)
                if called.params.Type == Runtime::ConsoleAPICalledEventTypeOption::Error =>
            {
                let arguments: Vec<String> = called
                    .params
                    .args
                    .iter()
                    .map(|argument| match (&argument.value, &argument.description) {
                        (Some(serde_json::Value::String(text)), _) => text.clone(),
                        (Some(value), _) => value.to_string(),
                        (None, Some(description)) => description.clone(),
                        (None, None) => format!("{:?}", argument.Type),
                    })
                    .collect();
                self.console_error(format!("console.error: {}", arguments.join(" ")));
            }
            Event::NetworkRequestWillBeSent(sent) if !is_local(&sent.params.request.url) => {
                self.network_request(sent.params.request.url.clone());
            }
            Event::PageLifecycleEvent(lifecycle) if lifecycle.params.name == "load" => {
                lock(&self.loaded).push(lifecycle.params.loader_id.clone());
            }
            _ => {}
        }
    }

    fn console_error(&self, text: String) {
        lock(&self.console_errors).push(text);
    }

    fn network_request(&self, url: String) {
        let mut requests = lock(&self.network_requests);
        if !requests.contains(&url) {
            requests.push(url);
        }
    }
}

fn is_local(url: &str) -> bool {
    url.starts_with("file:") || url.starts_with("data:")
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn take(mutex: &Mutex<Vec<String>>) -> Vec<String> {
    std::mem::take(&mut *lock(mutex))
}

/// Navigates to `url` and waits for its document's `load` event: every image, style and
/// frame has arrived or failed by then.
fn load(tab: &Tab, seen: &Seen, url: &str) -> Result<()> {
    let navigated = tab.call_method(Page::Navigate {
        url: url.to_owned(),
        referrer: None,
        transition_Type: None,
        frame_id: None,
        referrer_policy: None,
    })?;
    if let Some(error) = navigated.error_text {
        bail!("{error}");
    }
    let deadline = Instant::now() + LOAD_TIMEOUT;
    loop {
        let loaded = lock(&seen.loaded);
        let done = match &navigated.loader_id {
            Some(loader) => loaded.contains(loader),
            None => !loaded.is_empty(),
        };
        drop(loaded);
        if done {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("no load event within {LOAD_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The number of `figure` elements, and the box of each one's `svg` child, read from the DOM
/// through the protocol (no page script needed).
fn measure_charts(tab: &Tab) -> Result<(usize, Vec<ChartBox>)> {
    let document = tab
        .call_method(DOM::GetDocument {
            depth: Some(0),
            pierce: None,
        })?
        .root;
    let figures = tab
        .call_method(DOM::QuerySelectorAll {
            node_id: document.node_id,
            selector: "figure".to_owned(),
        })?
        .node_ids;
    let mut charts = Vec::new();
    for (index, &figure) in figures.iter().enumerate() {
        let attributes = tab
            .call_method(DOM::GetAttributes { node_id: figure })?
            .attributes;
        let id = attributes
            .chunks(2)
            .find(|pair| pair[0] == "id")
            .and_then(|pair| pair.get(1).cloned())
            .unwrap_or_else(|| format!("figure {} (no id)", index + 1));
        let svg = tab
            .call_method(DOM::QuerySelector {
                node_id: figure,
                selector: ":scope > svg".to_owned(),
            })?
            .node_id;
        if svg == 0 {
            continue;
        }
        // An element that is not rendered has no box model: the protocol answers an error.
        let (width, height) = tab
            .call_method(DOM::GetBoxModel {
                node_id: Some(svg),
                backend_node_id: None,
                object_id: None,
            })
            .map_or((0, 0), |boxed| (boxed.model.width, boxed.model.height));
        charts.push(ChartBox { id, width, height });
    }
    Ok((figures.len(), charts))
}

/// A PNG of the whole page, [`WIDTH`] wide and as high as the content, up to [`MAX_HEIGHT`].
fn screenshot(tab: &Tab) -> Result<Vec<u8>> {
    let metrics = tab.call_method(Page::GetLayoutMetrics(None))?;
    let height = metrics
        .css_content_size
        .height
        .ceil()
        .clamp(1.0, f64::from(MAX_HEIGHT));
    let shot = tab.call_method(Page::CaptureScreenshot {
        format: Some(Page::CaptureScreenshotFormatOption::Png),
        quality: None,
        clip: Some(Page::Viewport {
            x: 0.0,
            y: 0.0,
            width: f64::from(WIDTH),
            height,
            scale: 1.0,
        }),
        from_surface: Some(true),
        capture_beyond_viewport: Some(true),
        optimize_for_speed: None,
    })?;
    base64::engine::general_purpose::STANDARD
        .decode(shot.data)
        .context("the screenshot is not base64")
}

/// How much of an image is not blank.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ink {
    width: u32,
    height: u32,
    /// The share of pixels that are not near-white (transparent ones count as blank).
    share: f64,
}

impl Ink {
    fn of_png(bytes: &[u8]) -> Result<Self> {
        let mut decoder = png::Decoder::new_with_limits(
            Cursor::new(bytes),
            png::Limits {
                bytes: 256 * 1024 * 1024,
            },
        );
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info()?;
        let (color, _) = reader.output_color_type();
        let channels = color.samples();
        let (width, height) = (reader.info().width, reader.info().height);
        let mut inked: u64 = 0;
        while let Some(row) = reader.next_row()? {
            inked += row
                .data()
                .chunks_exact(channels)
                .filter(|pixel| is_ink(color, pixel))
                .count() as u64;
        }
        let pixels = u64::from(width) * u64::from(height);
        Ok(Self {
            width,
            height,
            share: if pixels == 0 {
                0.0
            } else {
                inked as f64 / pixels as f64
            },
        })
    }
}

fn is_ink(color: png::ColorType, pixel: &[u8]) -> bool {
    let (shade, alpha) = match color {
        png::ColorType::Rgba => (&pixel[..3], pixel[3]),
        png::ColorType::GrayscaleAlpha => (&pixel[..1], pixel[1]),
        _ => (pixel, u8::MAX),
    };
    alpha >= 16 && shade.iter().any(|&channel| channel < NEAR_WHITE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendering() -> Rendering {
        Rendering {
            figures: 2,
            charts: vec![
                ChartBox {
                    id: "a.svg".to_owned(),
                    width: 860,
                    height: 500,
                },
                ChartBox {
                    id: "b.svg".to_owned(),
                    width: 860,
                    height: 500,
                },
            ],
            console_errors: Vec::new(),
            network_requests: Vec::new(),
            screenshot_width: WIDTH,
            screenshot_height: 3000,
            inked_share: 0.05,
        }
    }

    #[test]
    fn a_clean_rendering_has_no_problems() {
        assert_eq!(rendering().problems(), Vec::<String>::new());
    }

    #[test]
    fn problems_name_every_failure() {
        let mut broken = rendering();
        broken.console_errors = vec!["Network: Failed to load resource".to_owned()];
        broken.network_requests = vec!["https://example.com/font.woff2".to_owned()];
        broken.charts[1].height = 0;
        broken.figures = 3;
        broken.inked_share = 0.001;
        let problems = broken.problems();
        assert_eq!(
            problems,
            [
                "console error: Network: Failed to load resource",
                "requested from the network (blocked): https://example.com/font.woff2",
                "1 of the 3 figures hold no svg",
                "chart 'b.svg' is laid out 860 × 0 px",
                "the page looks blank: 0.10 % of its pixels are not near-white (at least 1 % \
                 expected)",
            ]
        );
        broken.charts.clear();
        assert!(
            broken
                .problems()
                .contains(&"no chart at all: none of the 3 figures holds an svg".to_owned()),
            "{:?}",
            broken.problems()
        );
    }

    #[test]
    fn a_missing_chromium_says_how_to_install_it() {
        let err = chromium(Some("/nonexistent/chromium".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/nonexistent/chromium")
                && err.contains(CHROMIUM_VAR)
                && err.contains("apt-get install chromium")
                && err.contains("scripts/ensure-chromium.sh"),
            "{err}"
        );
    }

    #[test]
    fn stat_lines_are_read_past_the_command() {
        let line = "4242 (Chrome_Child (x) 1) S 4200 4242 4200 0 -1 4194560 1 0 0 0 0 0 0 0 20 \
                    0 1 0 987654 1000 100 18446744073709551615";
        let stat = parse_stat(line).expect("a stat line");
        assert_eq!((stat.state, stat.parent, stat.start), ('S', 4200, 987_654));
    }

    #[test]
    fn ink_is_what_is_not_near_white() {
        let mut bytes = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut bytes, 10, 10);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().unwrap();
            let mut pixels = vec![255u8; 10 * 10 * 3];
            // Five pixels of ink, one near-white pixel that is not.
            for pixel in 0..5 {
                pixels[pixel * 3..pixel * 3 + 3].copy_from_slice(&[40, 40, 200]);
            }
            pixels[50 * 3..50 * 3 + 3].copy_from_slice(&[250, 245, 241]);
            writer.write_image_data(&pixels).unwrap();
        }
        let ink = Ink::of_png(&bytes).unwrap();
        assert_eq!((ink.width, ink.height), (10, 10));
        assert!((ink.share - 0.05).abs() < 1e-12, "{}", ink.share);
    }

    /// A page that reaches out to the network and has a script, a chart and a hidden chart.
    const LEAKY_PAGE: &str = r##"<!DOCTYPE html><html><head><meta charset="utf-8"></head>
<body><h1>Leaky</h1>
<img src="http://192.0.2.1/pixel.png" alt="">
<script>console.error("scripts must not run"); throw new Error("nor throw");</script>
<figure id="shown"><svg width="400" height="200" xmlns="http://www.w3.org/2000/svg">
<rect width="400" height="200" fill="#336"/></svg></figure>
<figure id="hidden"><svg style="display:none" width="400" height="200"></svg></figure>
<figure id="empty"><p>no chart</p></figure>
</body></html>"##;

    #[test]
    fn chromium_blocks_the_network_keeps_scripts_off_and_measures_charts() {
        let dir = tempfile::tempdir().unwrap();
        let page = dir.path().join("leaky.html");
        std::fs::write(&page, LEAKY_PAGE).unwrap();
        let png = dir.path().join("leaky.png");
        let rendering = render(&page, &png).expect("Chromium renders the page");

        assert_eq!(
            rendering.network_requests,
            ["http://192.0.2.1/pixel.png"],
            "{rendering:?}"
        );
        assert!(
            !rendering
                .console_errors
                .iter()
                .any(|error| error.contains("scripts must not run") || error.contains("throw")),
            "a script ran: {:?}",
            rendering.console_errors
        );
        assert_eq!(rendering.figures, 3);
        assert_eq!(
            rendering.charts,
            [
                ChartBox {
                    id: "shown".to_owned(),
                    width: 400,
                    height: 200
                },
                ChartBox {
                    id: "hidden".to_owned(),
                    width: 0,
                    height: 0
                },
            ]
        );
        assert_eq!(rendering.screenshot_width, WIDTH);
        assert!(rendering.inked_share > 0.04, "{rendering:?}");
        assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
        let problems = rendering.problems();
        assert!(
            problems.iter().any(|p| p.contains("192.0.2.1"))
                && problems.iter().any(|p| p.contains("'hidden'"))
                && problems.iter().any(|p| p.contains("1 of the 3 figures")),
            "{problems:?}"
        );
    }
}
