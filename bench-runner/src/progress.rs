//! Progress of a sequence of steps: a bar on a terminal, plain lines anywhere else (CI logs,
//! pipes), so the output stays readable in both.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Reports steps started and finished, to stderr.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    done: usize,
}

impl Progress {
    /// Progress over `total` steps; a bar when stderr is a terminal.
    pub fn new(total: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {elapsed} {msg}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Self {
            bar,
            total,
            done: 0,
        }
    }

    /// Step `what` begins.
    pub fn start(&mut self, what: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(what.to_owned()),
            None => eprintln!("[{}/{}] {what}", self.done + 1, self.total),
        }
    }

    /// The current step ended; `outcome` says how.
    pub fn finish(&mut self, outcome: &str) {
        self.done += 1;
        match &self.bar {
            Some(bar) => {
                bar.println(outcome);
                bar.inc(1);
            }
            None => eprintln!("[{}/{}] {outcome}", self.done, self.total),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
