"""Every ``st.session_state`` key of the dashboard, one named constant each (and the URL's query parameter).

Each constant says what the key holds and who writes it. Widget keys are here only when the app also reads
them through ``st.session_state`` (restores them, checks them, or resets them). The string values are part of
the app's contract (AppTest tests set them, saved URLs carry ``ds``): change a name, never a value.
Keys made per object (one per job, chart or picker) come from the functions at the end.
``tests/test_session_keys.py`` fails on a string literal used as a session-state key anywhere else in
``msdash/app`` and on two constants with the same value.
"""

# --- The open data set (msdash.app.state) --------------------------------------------------------------------
#: URL query parameter holding the open data set's id, so a browser refresh keeps it (state.open_dataset).
QUERY_DATASET = "ds"
#: Id of the open data set (str); written by state.open_dataset, read by state.current_dataset_id.
DATASET_ID = "dataset_id"
#: Messages queued for the next run, ``[(kind, markdown)]``; state.flash appends, state.show_flash empties.
FLASH = "flash"
#: Why the workspace cannot be written (str), or None; state.workspace_notices checks once per session.
WORKSPACE_PROBLEM = "workspace_problem"
#: Page settings kept while the user is on another page, ``{scope: {key: value}}``; state.keep/restore.
KEPT_SETTINGS = "_kept_settings"

# --- Uploads (Data page: upload.py, databarview.py) ----------------------------------------------------------
#: This session's parsed upload, ``(upload key, LoadResult)``; written by upload.parsed_upload.
UPLOAD = "upload_parsed"
#: The array chosen in each uploaded .mat file, ``{file name: variable}``; upload.parsed_upload.
MAT_CHOICES = "mat_variables"
#: Data-bar heights found in the upload, ``(upload key, {name: rows})``; databarview.upload_crop.
DATABAR_UPLOAD_HEIGHTS = "databar_upload_heights"

# --- Saved data sets, thumbnails and the viewer (widgets.py, Gallery page) -----------------------------------
#: Id of the saved data set whose Delete awaits confirmation; widgets.saved_datasets.
DELETE_PENDING = "delete_pending"
#: Sample whose viewer dialog a thumbnail click opens (one-shot); widgets._open writes, thumbnail_grid pops.
OPEN_SAMPLE = "open_sample"
#: The Gallery viewer's sample selectbox (widget); widgets._open sets it on a thumbnail click.
VIEWER_SAMPLE = "viewer_sample"
#: The Gallery viewer's typed sample name (widget, large sets); the Gallery page sets it from a click.
VIEWER_SAMPLE_NAME = "viewer_sample_name"

# --- Figures (charts.py) -------------------------------------------------------------------------------------
#: The sidebar's figure download format, "png" or "svg" (widget); charts.format_picker.
FIGURE_FORMAT = "figure_download_format"

# --- Features page -------------------------------------------------------------------------------------------
#: The Cancel button of a running computation (widget); the page reads it on the rerun the click causes.
CANCEL_FEATURES = "cancel_features"
#: The last feature set computed on the page, ``(dataset_id, extractor, params)``; the Features page.
LAST_FEATURES = "last_features"

# --- The linked selection (selectionview.py, Map and Models pages) -------------------------------------------
#: Names of the selected samples (list of str), shared by the maps, the parity plot and the name pickers.
SELECTED = "selected_samples"
#: Which chart or picker made the current selection (its key, or None); selectionview.
SELECTION_SOURCE = "selection_source"
#: The data set the current selection belongs to (its id); selectionview.own_selection.
SELECTION_DATASET = "selection_dataset"
#: The selection of every data set this session has had open, ``{dataset_id: [names]}``; own_selection.
SELECTIONS_BY_DATASET = "_selections_by_dataset"
#: Signature of each chart's last selection event, ``{chart key: str}``; selectionview.sync_selection.
MAP_EVENTS_SEEN = "_map_events_seen"
#: What each plotly map was last drawn from, ``{chart key: tuple}``; selectionview.drawn.
MAP_SPECS_DRAWN = "_map_specs_drawn"

# --- Map page (map.py; kept per data set through state.keep/restore) ------------------------------------------
#: Feature sets on the map (widget, list of labels); the quick-start button sets it too.
MAP_SETS = "map_sets"
#: "PCA" or "UMAP" (widget).
MAP_METHOD = "map_method"
#: Standardise the features before the map (widget, bool).
MAP_STANDARDIZE = "map_standardize"
#: The column the map is coloured by (widget).
MAP_COLOR = "map_color"
#: The Map page's name picker (widget; its parts come from :func:`picker_key`).
MAP_PICK = "map_pick"

# --- Models page (screens/models.py, modelview.py) -----------------------------------------------------------
#: The form's widgets; their values are saved in :data:`MODEL_FORM` and restored by modelview.restore_form.
MODEL_TARGET = "model_target"
MODEL_SETS = "model_sets"
MODEL_MODELS = "model_models"
MODEL_OUTER = "model_outer"
MODEL_INNER = "model_inner"
MODEL_SCORING = "model_scoring"
MODEL_STANDARDIZE = "model_standardize"
MODEL_EXTRA = "model_extra"
MODEL_GROUPS = "model_groups"
MODEL_REPEATS = "model_repeats"
#: The Models page's form widgets, in the order the form is saved.
MODEL_FORM_KEYS = (MODEL_TARGET, MODEL_SETS, MODEL_MODELS, MODEL_OUTER, MODEL_INNER, MODEL_SCORING,
                   MODEL_STANDARDIZE, MODEL_EXTRA, MODEL_GROUPS, MODEL_REPEATS)
#: The model runs the Predict page offers, ``{"target", "runs", "score_label"}``; modelview.publish.
MODEL_RUNS = "model_runs"
#: Id of this session's background nested CV (msdash.learned.jobs); modelview.start_cv_job/cv_job_panel.
MODEL_CV_JOB = "model_cv_job"
#: The note a cancelled or failed background CV left (markdown); modelview.cv_job_panel.
MODEL_CV_NOTE = "model_cv_note"
#: Every run of this session per data set, ``{dataset_id: [ModelRun]}``; modelview.remember.
MODEL_HISTORY = "model_history"
#: The form values of the comparison on screen, ``{"dataset_id", key: value}``; modelview.remember.
MODEL_FORM = "model_form"
#: The form values of the running background CV, until it finishes; modelview.start_cv_job.
MODEL_JOB_FORM = "model_job_form"
#: This session's random id, part of its background CV's job id; modelview.start_cv_job.
MODEL_CV_SESSION = "_cv_session"
#: The parity plot (plotly chart's selection event, read by selectionview.sync_selection).
PARITY_CHART = "parity_chart"
#: The Models page's name picker (widget; its parts come from :func:`picker_key`).
PARITY_PICK = "parity_pick"

# --- Predict, Validation and Learn pages ---------------------------------------------------------------------
#: Cut uploaded micrographs into tiles (widget, bool); the Predict page reads it for the tile histogram.
PREDICT_TILES = "predict_tiles"
#: The last results of msdash.validation.run_checks, ``{name: Check}``; the Validation page.
VALIDATION_RESULTS = "validation_results"
#: The TextureVAE run shown (widget, run id); the Learn page sets it to a new or the newest run.
VAE_RUN = "vae_run"
#: Id of the CNN cross-validation job started in this session; cnnview.cnn_section.
CNN_JOB = "cnn_job"
#: The CNN form's property (widget); cnnview reads it to list that property's finished runs.
CNN_TARGET = "cnn_target"

# --- Keys made per object ------------------------------------------------------------------------------------
#: The parts of a name picker (selectionview.name_picker): mode and pattern widgets, the pattern's message,
#: the group column and value widgets.
PICKER_PARTS = ("mode", "pattern", "pattern_message", "group_column", "group")


def picker_key(pick_key, part):
    """Session-state key of one part of the name picker ``pick_key`` (see :data:`PICKER_PARTS`).

    >>> picker_key(MAP_PICK, "pattern")
    'map_pick_pattern'
    """
    if part not in PICKER_PARTS:
        raise ValueError(f"`part` must be one of {PICKER_PARTS}, got {part!r}")
    return f"{pick_key}_{part}"


def map_chart(index):
    """Key of the Map page's plotly map number ``index`` (its selection event).

    >>> map_chart(0)
    'map_chart_0'
    """
    return f"map_chart_{int(index)}"


def map_fast(index):
    """Key of the fast canvas map drawn in place of :func:`map_chart` ``(index)`` (its selection event).

    >>> map_fast(1)
    'map_fast_1'
    """
    return f"map_fast_{int(index)}"


def fast_map_seq(chart_key):
    """Key of the sequence number of the last selection read from the fast map ``chart_key`` (fastmap.py).

    >>> fast_map_seq("map_fast_0")
    '_fast_map_seq_map_fast_0'
    """
    return f"_fast_map_seq_{chart_key}"


def job_seen(job_id):
    """Key of the last status of job ``job_id`` that the page reran for (learnview.job_panel).

    >>> job_seen("vae:r1")
    '_seen_vae:r1'
    """
    return f"_seen_{job_id}"
