"""`sentio` with no subcommand: start the desktop app."""
from __future__ import annotations

import os
import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from sentio_desktop.errors import SentioError

APP_NAME = "Sentio"


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with high-DPI and platform (light/dark) look set up; reused when one exists."""
    app = QApplication.instance()
    if app is None:
        # Fractional scale factors (125 %, 150 %) stay fractional: crisp text and correctly sized points.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("sentio")
    # No application display name: Qt would append it to every title ("Sentio — music by mood — Sentio").
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORMTHEME"):
        app.setStyle("Fusion")  # follows the system colour scheme (dark mode) on every Linux desktop
    return app


def main(argv: list[str] | None = None) -> int:
    """Open the library named by the settings and show the main window; returns the exit code."""
    app = create_application(argv)
    from sentio_desktop.ui.context import AppContext
    from sentio_desktop.ui.main_window import MainWindow

    try:
        context = AppContext.open()
    except SentioError as exc:
        QMessageBox.critical(None, APP_NAME, str(exc))
        return 1
    window = MainWindow(context)
    window.show()
    window.start()
    try:
        return int(app.exec())
    finally:
        context.close()


if __name__ == "__main__":
    sys.exit(main())
