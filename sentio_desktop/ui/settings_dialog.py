"""The settings dialog: edits a copy of `Settings` (labels from `settings.FIELD_HELP`)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from sentio_desktop.errors import SentioError
from sentio_desktop.settings import FIELD_HELP, Settings
from sentio_desktop.ui.model_info import ModelInfo, load_model_info, plain_summary
from sentio_desktop.ui.workers import BackgroundRunner

DEVICE_CHOICES = (("auto", "Automatic (GPU when available)"), ("cpu", "CPU"), ("cuda", "GPU (CUDA)"))


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, runner: BackgroundRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sentio settings")
        self.setObjectName("settingsDialog")
        self.original = settings
        self.runner = runner
        self.result_settings: Settings | None = None
        self._info_request = 0

        folders_box = QGroupBox("Music folders", self)
        self.folder_list = QListWidget(folders_box)
        self.folder_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.folder_list.addItems(settings.music_folders)
        self.folder_list.setToolTip(FIELD_HELP["music_folders"])
        add, remove = QPushButton("Add…", folders_box), QPushButton("Remove", folders_box)
        add.clicked.connect(self._add_folder)
        remove.clicked.connect(lambda: [self.folder_list.takeItem(self.folder_list.row(i))
                                        for i in self.folder_list.selectedItems()])
        fl = QVBoxLayout(folders_box)
        fl.addWidget(self.folder_list)
        fl.addWidget(_row(add, remove, stretch=True))

        model_box = QGroupBox("Model", self)
        self.default_model = QRadioButton("Bundled default model", model_box)
        self.custom_model = QRadioButton("Model bundle folder:", model_box)
        self.model_path = QLineEdit(model_box)
        self.model_path.setPlaceholderText("A folder with config.json and model.safetensors")
        browse = QPushButton("Browse…", model_box)
        browse.clicked.connect(self._browse_model)
        custom = settings.model not in ("", "default")
        (self.custom_model if custom else self.default_model).setChecked(True)
        self.model_path.setText(settings.model if custom else "")
        self.model_status = QLabel("Checking the model…", model_box)
        self.model_status.setWordWrap(True)
        self.model_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.metrics_table = QTableWidget(0, 2, model_box)
        self.metrics_table.setHorizontalHeaderLabels(["Metric (model card)", "Value"])
        self.metrics_table.horizontalHeader().setStretchLastSection(True)
        self.metrics_table.verticalHeader().setVisible(False)
        self.metrics_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.metrics_table.setMinimumHeight(140)
        ml = QVBoxLayout(model_box)
        ml.addWidget(self.default_model)
        ml.addWidget(_row(self.custom_model, self.model_path, browse))
        self.model_summary = QLabel("", model_box)
        self.model_summary.setObjectName("modelSummary")
        self.model_summary.setWordWrap(True)
        ml.addWidget(self.model_summary)
        ml.addWidget(self.model_status)
        ml.addWidget(self.metrics_table)
        self.default_model.toggled.connect(lambda _c: self.refresh_model_info())
        self.model_path.editingFinished.connect(self.refresh_model_info)

        analysis_box = QGroupBox("Analysis", self)
        self.device_combo = QComboBox(analysis_box)
        for value, label in DEVICE_CHOICES:
            self.device_combo.addItem(label, value)
        self.device_combo.setCurrentIndex([v for v, _ in DEVICE_CHOICES].index(settings.device))
        self.device_combo.setToolTip(FIELD_HELP["device"])
        self.write_tags = QCheckBox(FIELD_HELP["write_tags"], analysis_box)
        self.write_tags.setChecked(settings.write_tags)
        self.keep_mtime = QCheckBox(FIELD_HELP["keep_mtime"], analysis_box)
        self.keep_mtime.setChecked(settings.keep_mtime)
        self.excerpts = QSpinBox(analysis_box)
        self.excerpts.setRange(0, 32)
        self.excerpts.setSpecialValueText("Model default")
        self.excerpts.setValue(settings.excerpts)
        self.excerpts.setToolTip(FIELD_HELP["excerpts"])
        self.batch_size = QSpinBox(analysis_box)
        self.batch_size.setRange(0, 256)
        self.batch_size.setSpecialValueText("Auto")  # 0: 32 on a GPU, 8 on the CPU
        self.batch_size.setValue(settings.batch_size)
        self.batch_size.setToolTip(FIELD_HELP["batch_size"])
        form = QFormLayout(analysis_box)
        form.addRow("Device", self.device_combo)
        form.addRow(self.write_tags)
        form.addRow(self.keep_mtime)
        form.addRow("Excerpts per track", self.excerpts)
        form.addRow("Batch size", self.batch_size)
        self.write_tags.toggled.connect(self.keep_mtime.setEnabled)
        self.keep_mtime.setEnabled(settings.write_tags)

        self.error_label = QLabel("", self)
        self.error_label.setStyleSheet("color: #d0342c;")
        self.error_label.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        columns = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(folders_box)
        left.addWidget(analysis_box)
        columns.addLayout(left, 1)
        columns.addWidget(model_box, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(columns)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self.resize(900, 560)
        self.refresh_model_info()

    # -- model ---------------------------------------------------------------------------------
    def _browse_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a model bundle folder",
                                                  self.model_path.text() or str(Path.home()))
        if folder:
            self.model_path.setText(folder)
            self.custom_model.setChecked(True)
            self.refresh_model_info()

    def _model_value(self) -> str:
        return "default" if self.default_model.isChecked() else (self.model_path.text().strip() or "default")

    def refresh_model_info(self) -> None:
        """Check the chosen bundle in the background and show its card's metrics."""
        self._info_request += 1
        request = self._info_request
        probe = dataclasses.replace(self.original, model=self._model_value())
        self.model_status.setText("Checking the model…")
        self.runner.submit(lambda: load_model_info(probe), lambda info: self._show_model_info(info, request),
                           lambda exc: self._show_model_info(ModelInfo(False, str(exc), ""), request))

    def _show_model_info(self, info: ModelInfo, request: int) -> None:
        if request != self._info_request:
            return  # an older check finished after a newer one started
        self.model_info = info
        self.model_summary.setText(plain_summary(info))
        if info.ok:
            self.model_status.setText(f"<b>{info.title}</b><br>{info.model_id}<br><small>{info.path}</small>"
                                      f"<br>Runs on: {info.device}")
        else:
            self.model_status.setText(f"<b>No usable model.</b> {info.title}")
        rows = info.metrics or ([("(this bundle's card has no metrics)", "")] if info.ok else [])
        self.metrics_table.setRowCount(len(rows))
        for row, (name, value) in enumerate(rows):
            self.metrics_table.setItem(row, 0, QTableWidgetItem(name))
            self.metrics_table.setItem(row, 1, QTableWidgetItem(value))
        self.metrics_table.resizeColumnToContents(0)

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a music folder", str(Path.home()))
        if folder and not self.folder_list.findItems(folder, Qt.MatchFlag.MatchExactly):
            self.folder_list.addItem(folder)

    # -- result --------------------------------------------------------------------------------
    def collect(self) -> Settings:
        """The edited settings (validated: raises SettingsError with one sentence)."""
        folders = [self.folder_list.item(i).text() for i in range(self.folder_list.count())]
        return dataclasses.replace(
            self.original, music_folders=folders, model=self._model_value(),
            device=self.device_combo.currentData(), write_tags=self.write_tags.isChecked(),
            keep_mtime=self.keep_mtime.isChecked(), excerpts=self.excerpts.value(),
            batch_size=self.batch_size.value())

    def accept(self) -> None:
        try:
            self.result_settings = self.collect()
        except SentioError as exc:
            self.error_label.setText(str(exc))
            return
        super().accept()


def _row(*widgets: QWidget, stretch: bool = False) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        layout.addWidget(w)
    if stretch:
        layout.addStretch(1)
    return row
