//! Exports: the results of every column as CSV (the format of `corridor run`, SPEC §7),
//! and the plots as a PNG cut from a screenshot of the window.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::report::csv_out;
use crate::scenario::EngineKind;

use super::{Column, Notice};

/// Writes the path and Monte Carlo statistics of every column; returns the number of
/// columns written. A scenario shown in both engines is written twice, the GE copy with
/// `-ge` after its name.
pub fn write_csv(target: &Path, columns: &[Column]) -> anyhow::Result<usize> {
    let mut text = Vec::new();
    {
        let out = &mut text;
        csv_out::write_header(out)?;
        for col in columns {
            let Some(results) = &col.results else {
                continue;
            };
            let mut scenario = results.scenario().clone();
            let both = columns
                .iter()
                .filter(|c| c.spec.path == col.spec.path)
                .count()
                > 1;
            if both && col.spec.engine == EngineKind::Ge {
                scenario.path = scenario
                    .path
                    .with_file_name(format!("{}-ge.toml", scenario.stem()));
            }
            csv_out::write_rows(out, &scenario, &results.outcome())?;
        }
    }
    let rows = text
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        .saturating_sub(1);
    let text = String::from_utf8(text)?;
    crate::scenario::edit::write_atomic(target, &text)?;
    Ok(rows)
}

/// A PNG export waiting for its screenshot.
struct Pending {
    target: PathBuf,
    rect: egui::Rect,
    image: Arc<Mutex<Option<Arc<egui::ColorImage>>>>,
}

#[derive(Default)]
pub struct Exports {
    pending: Option<Pending>,
}

impl Exports {
    /// Asks for a screenshot; the part inside `rect` is written to `target` when it arrives.
    pub fn request_png(&mut self, ctx: &egui::Context, target: PathBuf, rect: egui::Rect) {
        let image = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&image);
        let repaint = ctx.clone();
        ctx.request_screenshot(move |shot| {
            if let Ok(mut s) = slot.lock() {
                *s = Some(shot);
            }
            repaint.request_repaint();
        });
        self.pending = Some(Pending {
            target,
            rect,
            image,
        });
    }

    /// Writes a screenshot that has arrived.
    pub fn poll(&mut self, ctx: &egui::Context, notice: &mut Option<Notice>) {
        let Some(p) = &self.pending else { return };
        let shot = p.image.lock().ok().and_then(|mut s| s.take());
        let Some(shot) = shot else { return };
        let region = shot.region(&p.rect, Some(ctx.pixels_per_point()));
        *notice = Some(match write_png(&p.target, &region) {
            Ok(()) => Notice {
                text: format!("Saved the plots to {}", p.target.display()),
                is_error: false,
            },
            Err(e) => Notice {
                text: format!("PNG export failed: {e}"),
                is_error: true,
            },
        });
        self.pending = None;
    }
}

pub fn write_png(target: &Path, image: &egui::ColorImage) -> anyhow::Result<()> {
    let [w, h] = image.size;
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, u32::try_from(w)?, u32::try_from(h)?);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        let data: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
        writer.write_image_data(&data)?;
    }
    let tmp = target.with_extension("png.tmp");
    std::fs::write(&tmp, &bytes)?;
    std::fs::rename(&tmp, target)?;
    Ok(())
}
