//! Problems found in scenario files, rendered the way a compiler would: the file, line
//! and column, the offending line with the text underlined, what was expected, and a
//! suggestion where one is close.

use std::fmt::Write as _;

use annotate_snippets::renderer::DecorStyle;
use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use super::source::{Location, SourceMap};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, with where it is and what would be right.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub location: Option<Location>,
    /// Short text shown under the underline.
    pub label: Option<String>,
    /// Further lines: "expected …", "did you mean …".
    pub help: Vec<String>,
    /// Other places worth showing, e.g. the first definition of a duplicate.
    pub related: Vec<(Location, String)>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            location: None,
            label: None,
            help: Vec::new(),
            related: Vec::new(),
        }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(message)
        }
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn at_opt(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help.push(help.into());
        self
    }

    pub fn related(mut self, location: Location, label: impl Into<String>) -> Self {
        self.related.push((location, label.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `path:line:column` of the problem, if it has a place.
    pub fn position(&self, sources: &SourceMap) -> Option<(String, usize, usize)> {
        let loc = self.location.as_ref()?;
        let file = sources.get(loc.file);
        let (line, col) = file.line_col(loc.span.start);
        Some((file.path.display().to_string(), line, col))
    }

    /// One line: `path:line:col: error: message`, for logs and the app's list.
    pub fn headline(&self, sources: &SourceMap) -> String {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.position(sources) {
            Some((path, line, col)) => format!("{path}:{line}:{col}: {kind}: {}", self.message),
            None => format!("{kind}: {}", self.message),
        }
    }

    /// The full report with the source line and a caret under the offending text.
    pub fn render(&self, sources: &SourceMap, color: bool) -> String {
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let mut groups: Vec<Group<'_>> = Vec::new();
        let title = level.primary_title(self.message.as_str());
        let group = match &self.location {
            Some(loc) => {
                let file = sources.get(loc.file);
                let len = file.text.len();
                let mut start = loc.span.start.min(len);
                let mut end = loc.span.end.clamp(start, len);
                // Keep the underline on char boundaries and on the first line of a long value.
                while !file.text.is_char_boundary(start) {
                    start -= 1;
                }
                // Widen the end to cover a character it cuts (e.g. the U+FFFD standing for a
                // byte that is not UTF-8) before slicing.
                while !file.text.is_char_boundary(end) {
                    end += 1;
                }
                if let Some(nl) = file.text[start..end].find('\n') {
                    end = start + nl;
                }
                let path = file.path.display().to_string();
                // Related spans in this file, cut to their first line.
                let related: Vec<(std::ops::Range<usize>, &str)> = self
                    .related
                    .iter()
                    .filter(|(other, _)| {
                        other.file == loc.file
                            && other.span.end <= len
                            && file.text.is_char_boundary(other.span.start)
                    })
                    .map(|(other, label)| {
                        let end = file.text[other.span.start..other.span.end.max(other.span.start)]
                            .find('\n')
                            .map_or(other.span.end, |nl| other.span.start + nl);
                        (other.span.start..end, label.as_str())
                    })
                    .collect();
                // Hand the renderer only the lines the annotations cover: it reads the whole
                // text it is given, which for thousands of problems in one big file would
                // read the file thousands of times.
                let lo = related.iter().map(|(r, _)| r.start).fold(start, usize::min);
                let hi = related.iter().map(|(r, _)| r.end).fold(end, usize::max);
                let window_start = file.text[..lo].rfind('\n').map_or(0, |nl| nl + 1);
                let window_end = file.text[hi..].find('\n').map_or(len, |nl| hi + nl);
                let (first_line, _) = file.line_col(window_start);
                let shift =
                    |r: std::ops::Range<usize>| r.start - window_start..r.end - window_start;
                let mut ann = AnnotationKind::Primary.span(shift(start..end));
                if let Some(label) = &self.label {
                    ann = ann.label(label.as_str());
                }
                let mut snippet = Snippet::source(&file.text[window_start..window_end])
                    .line_start(first_line)
                    .path(path)
                    .fold(true)
                    .annotation(ann);
                for (span, label) in related {
                    snippet =
                        snippet.annotation(AnnotationKind::Context.span(shift(span)).label(label));
                }
                title.element(snippet)
            }
            None => Group::with_title(title),
        };
        let group = self
            .help
            .iter()
            .fold(group, |g, h| g.element(Level::HELP.message(h.as_str())));
        groups.push(group);
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        }
        .decor_style(DecorStyle::Ascii);
        renderer.render(&groups)
    }
}

/// All problems found in one load, errors and warnings together.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| !d.is_error())
    }

    /// Orders problems by file and position so reports read top to bottom.
    pub fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            let ka = a.location.as_ref().map(|l| (l.file, l.span.start));
            let kb = b.location.as_ref().map(|l| (l.file, l.span.start));
            (a.severity, ka).cmp(&(b.severity, kb))
        });
    }

    pub fn render(&self, sources: &SourceMap, color: bool) -> String {
        let mut out = String::new();
        for d in &self.items {
            let _ = writeln!(out, "{}", d.render(sources, color));
        }
        out
    }
}

/// The closest candidate to `word`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&word.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
