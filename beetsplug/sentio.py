"""beets plugin: valence, arousal and a mood word for library items, predicted by Sentio's model.

Enable with ``plugins: sentio`` in beets' config.yaml; options (defaults shown)::

    sentio:
        auto: yes        # analyse items as they are imported
        force: no        # re-analyse items that already have a result of the current model
        write: null      # write Sentio's tags into the files; null follows beets' `import.write`
        device: auto     # auto, cpu, cuda, cuda:1, mps
        batch_size: 8    # excerpts per model call
        model: ''        # a Sentio model bundle folder; '' uses $SENTIO_MODEL or the bundled default

``beet sentio [QUERY]`` analyses matching items. Results are flexible attributes ``valence`` and
``arousal`` (floats on 0..1, so ``beet ls valence:0.7.. arousal:..0.3`` works), ``mood`` (a word),
``music`` (how likely the audio is music at all, 0..1: ``beet ls music:..0.5`` finds speech, animal sounds and
field recordings) and ``sentio_model`` (the model id that made them). The files get the same tags as ``sentio tags write``
(TXXX:VALENCE / TMOO in ID3, VALENCE / MOOD Vorbis comments, iTunes freeform atoms in MP4).

torch and the model load on first use, so beets starts as fast as without the plugin.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from beets import ui
from beets.dbcore import types
from beets.plugins import BeetsPlugin

if TYPE_CHECKING:
    from beets.importer import ImportSession, ImportTask
    from beets.library import Item, Library

DIGITS = 3  # Sentio's tags and library keep three decimals


@dataclass
class Tally:
    analysed: int = 0
    current: int = 0
    failed: int = 0
    tags_failed: int = 0

    def summary(self) -> str:
        text = f"{self.analysed} analysed, {self.current} already current, {self.failed} failed"
        return text + (f", tags not written to {self.tags_failed} files" if self.tags_failed else "")


class SentioPlugin(BeetsPlugin):
    """`beet sentio` and analysis on import with Sentio's predictor."""

    # NullFloat: numeric range queries, and an item without a result reads as missing rather than 0.
    item_types = {"valence": types.NullFloat(DIGITS), "arousal": types.NullFloat(DIGITS), "music": types.NullFloat(DIGITS)}

    def __init__(self) -> None:
        super().__init__()
        self.config.add({"auto": True, "force": False, "write": None, "device": "auto", "batch_size": 8,
                         "model": ""})
        self._predictor: Any = None
        self._load_error: str | None = None
        if self.config["auto"].get(bool):
            self.register_listener("import_task_files", self.on_import_task_files)

    # ----- beets hooks ----------------------------------------------------------------------------------
    def commands(self) -> list[ui.Subcommand]:
        cmd = ui.Subcommand("sentio", help="predict valence, arousal and mood with Sentio")
        cmd.parser.add_option("-f", "--force", action="store_true", default=None,
                              help="re-analyse items that already have a result of this model")
        cmd.parser.add_option("-w", "--write", action="store_true", default=None,
                              help="write Sentio's tags into the files (default: beets' import.write)")
        cmd.parser.add_option("-W", "--nowrite", action="store_false", dest="write",
                              help="keep the results in the library only")
        cmd.func = self.command
        return [cmd]

    def command(self, lib: Library, opts: Any, args: list[str]) -> None:
        try:
            predictor = self.predictor()
        except Exception as exc:  # noqa: BLE001 - every load failure is one sentence for the user
            raise ui.UserError(f"sentio: {exc}") from exc
        force = opts.force if opts.force is not None else self.config["force"].get(bool)
        tally = self.analyse(lib.items(args), predictor, force=force, write=self.should_write(opts.write))
        ui.print_(f"sentio: {tally.summary()} (model {predictor.model_id}).")

    def on_import_task_files(self, session: ImportSession, task: ImportTask) -> None:
        """After the imported files reached their place: analyse them; a failure never stops the import."""
        items = task.imported_items()
        if not items:
            return
        try:
            predictor = self.predictor()
        except Exception as exc:  # noqa: BLE001
            self._log.error("no mood analysis for this import: {}", exc)
            return
        tally = self.analyse(items, predictor, force=self.config["force"].get(bool), write=self.should_write())
        self._log.info("{}", tally.summary())

    # ----- work -----------------------------------------------------------------------------------------
    def should_write(self, option: bool | None = None) -> bool:
        """The command-line flag, else this plugin's `write`, else beets' `import.write`."""
        if option is None:
            option = self.config["write"].get()
        return ui.should_write(None if option is None else bool(option))

    def predictor(self) -> Any:
        """Sentio's Predictor, built once from this plugin's config (the model loads on first use)."""
        if self._load_error is not None:
            raise RuntimeError(self._load_error)
        if self._predictor is None:
            from sentio_ml.bundle import load_bundle
            from sentio_ml.predictor import Predictor

            model = self.config["model"].as_str().strip()
            try:
                bundle = load_bundle(model or None)
                self._predictor = Predictor(bundle, device=self.config["device"].as_str(),
                                            batch_size=self.config["batch_size"].get(int))
            except Exception as exc:  # noqa: BLE001 - remembered, so an import logs it once per task, cheaply
                self._load_error = str(exc) or type(exc).__name__
                raise
        return self._predictor

    def analyse(self, items: Iterable[Item], predictor: Any, *, force: bool, write: bool) -> Tally:
        """Predict the items (all, or those without a current result), store each result as it comes."""
        tally = Tally()
        todo: dict[str, Item] = {}
        for item in items:
            if not force and item.get("sentio_model") == predictor.model_id and item.get("valence") is not None:
                tally.current += 1
            else:
                todo[str(item.filepath)] = item
        for prediction in predictor.predict_iter(list(todo)):
            item = todo[str(prediction.path)]
            if prediction.error:
                self._log.warning("{}", prediction.error)
                tally.failed += 1
                continue
            item.update({"valence": round(prediction.valence, DIGITS), "arousal": round(prediction.arousal, DIGITS),
                         "mood": prediction.mood, "sentio_model": predictor.model_id})
            if prediction.music is not None:
                item["music"] = round(prediction.music, DIGITS)
            if write and not self.write_tags(item):
                tally.tags_failed += 1
            item.store()
            tally.analysed += 1
            self._log.info("{}: valence {:.3f}, arousal {:.3f} ({})", item.filepath, item["valence"],
                           item["arousal"], item["mood"])
        return tally

    def write_tags(self, item: Item) -> bool:
        """Write the item's result with Sentio's tag writer; on failure log one sentence (the result stays stored)."""
        from sentio_desktop.errors import TagError
        from sentio_desktop.tags import MoodTags, write_mood_tags

        tags = MoodTags(valence=item["valence"], arousal=item["arousal"], mood=item["mood"],
                        model=item["sentio_model"])
        try:
            write_mood_tags(item.filepath, tags)
        except TagError as exc:
            self._log.warning("{} (the result is kept in the beets library)", exc)
            return False
        item["mtime"] = item.current_mtime()  # as beets does after its own writes: `beet update` sees no change
        return True
