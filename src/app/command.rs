//! Every user command with its label, tooltip and keyboard shortcut, in one table, so
//! menus, buttons and shortcuts cannot drift apart.

use egui::{Key, KeyboardShortcut, Modifiers};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Open,
    Save,
    SaveAs,
    Revert,
    Reload,
    Undo,
    Redo,
    RunMonteCarlo,
    CancelRuns,
    AddToComparison,
    ExportCsv,
    ExportPng,
    ToggleTheme,
    ToggleLibrary,
    ToggleEditor,
    About,
    Quit,
}

impl Command {
    pub const ALL: [Command; 17] = [
        Command::Open,
        Command::Save,
        Command::SaveAs,
        Command::Revert,
        Command::Reload,
        Command::Undo,
        Command::Redo,
        Command::RunMonteCarlo,
        Command::CancelRuns,
        Command::AddToComparison,
        Command::ExportCsv,
        Command::ExportPng,
        Command::ToggleTheme,
        Command::ToggleLibrary,
        Command::ToggleEditor,
        Command::About,
        Command::Quit,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Command::Open => "Open…",
            Command::Save => "Save",
            Command::SaveAs => "Save As…",
            Command::Revert => "Revert",
            Command::Reload => "Reload from disk",
            Command::Undo => "Undo",
            Command::Redo => "Redo",
            Command::RunMonteCarlo => "Run Monte Carlo",
            Command::CancelRuns => "Cancel runs",
            Command::AddToComparison => "Add to comparison",
            Command::ExportCsv => "Export results as CSV…",
            Command::ExportPng => "Export plots as PNG…",
            Command::ToggleTheme => "Light / dark theme",
            Command::ToggleLibrary => "Scenario library",
            Command::ToggleEditor => "Parameter editor",
            Command::About => "About the model",
            Command::Quit => "Quit",
        }
    }

    pub fn tooltip(self) -> &'static str {
        match self {
            Command::Open => {
                "Open a scenario file (.toml) from disk. You can also drop files onto the window."
            }
            Command::Save => {
                "Write your edits into the scenario file. Comments and layout are kept; the file is replaced atomically."
            }
            Command::SaveAs => {
                "Write the edited scenario to a new file and continue editing that one."
            }
            Command::Revert => "Drop all unsaved edits of the selected scenario (can be undone).",
            Command::Reload => {
                "Read the selected scenario's file again from disk, dropping unsaved edits."
            }
            Command::Undo => "Undo the last change (one slider drag is one step).",
            Command::Redo => "Redo the change you undid.",
            Command::RunMonteCarlo => {
                "Run the Monte Carlo ensemble again for every column (it also runs by itself after each edit)."
            }
            Command::CancelRuns => {
                "Stop the Monte Carlo runs in progress; the as-written path stays."
            }
            Command::AddToComparison => {
                "Add the selected scenario as a column (again with the other engine if it is already shown)."
            }
            Command::ExportCsv => {
                "Save the results of every column (path and Monte Carlo statistics) in the long CSV format of `corridor run`."
            }
            Command::ExportPng => "Save a picture of the plots as they are on screen.",
            Command::ToggleTheme => "Switch between light and dark colours.",
            Command::ToggleLibrary => "Show or hide the scenario library on the left.",
            Command::ToggleEditor => "Show or hide the parameter editor on the right.",
            Command::About => {
                "What the model computes, in plain words: trade costs, shares, bands and metrics."
            }
            Command::Quit => "Close Corridor (asks first if there are unsaved edits).",
        }
    }

    pub fn shortcut(self) -> Option<KeyboardShortcut> {
        let cmd = Modifiers::COMMAND;
        let cmd_shift = Modifiers::COMMAND | Modifiers::SHIFT;
        let sc = |m, k| Some(KeyboardShortcut::new(m, k));
        match self {
            Command::Open => sc(cmd, Key::O),
            Command::Save => sc(cmd, Key::S),
            Command::SaveAs => sc(cmd_shift, Key::S),
            Command::Revert | Command::Reload => None,
            Command::Undo => sc(cmd, Key::Z),
            Command::Redo => sc(cmd_shift, Key::Z),
            Command::RunMonteCarlo => sc(cmd, Key::R),
            Command::CancelRuns => sc(cmd, Key::Period),
            Command::AddToComparison => sc(cmd, Key::K),
            Command::ExportCsv => sc(cmd, Key::E),
            Command::ExportPng => sc(cmd_shift, Key::E),
            Command::ToggleTheme => sc(cmd_shift, Key::T),
            Command::ToggleLibrary => sc(cmd, Key::B),
            Command::ToggleEditor => sc(cmd, Key::P),
            Command::About => sc(Modifiers::NONE, Key::F1),
            Command::Quit => sc(cmd, Key::Q),
        }
    }

    /// A menu entry: label, shortcut text and tooltip. Returns true when clicked.
    pub fn menu_item_ui(self, ui: &mut egui::Ui, enabled: bool) -> bool {
        let mut button = egui::Button::new(self.label());
        if let Some(sc) = self.shortcut() {
            button = button.shortcut_text(ui.ctx().format_shortcut(&sc));
        }
        ui.add_enabled(enabled, button)
            .on_hover_text(self.tooltip())
            .clicked()
    }

    /// A plain button with the command's label and tooltip (shortcut in the tooltip).
    pub fn button_ui(self, ui: &mut egui::Ui, enabled: bool) -> bool {
        let tip = match self.shortcut() {
            Some(sc) => format!("{} ({})", self.tooltip(), ui.ctx().format_shortcut(&sc)),
            None => self.tooltip().to_string(),
        };
        ui.add_enabled(enabled, egui::Button::new(self.label()))
            .on_hover_text(tip)
            .clicked()
    }

    /// The commands whose shortcut was pressed this frame.
    pub fn pressed(ctx: &egui::Context) -> Vec<Command> {
        let mut out = Vec::new();
        ctx.input_mut(|i| {
            // Longer modifier sets first, so Ctrl+Shift+S is not also read as Ctrl+S.
            let mut all: Vec<(Command, KeyboardShortcut)> = Command::ALL
                .iter()
                .filter_map(|c| Some((*c, c.shortcut()?)))
                .collect();
            all.sort_by_key(|(_, sc)| std::cmp::Reverse(modifier_count(sc.modifiers)));
            for (command, sc) in all {
                if i.consume_shortcut(&sc) {
                    out.push(command);
                }
            }
        });
        out
    }
}

fn modifier_count(m: Modifiers) -> u8 {
    u8::from(m.alt)
        + u8::from(m.ctrl)
        + u8::from(m.shift)
        + u8::from(m.mac_cmd)
        + u8::from(m.command)
}
