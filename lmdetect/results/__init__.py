"""Results between the pipeline and the edges: the JSON form of a night summary and its writer
(``summary_json``), the night folder (``night_folder``) and several nights' folders, table and
statistics (``multinight``).

This package may import the core (model, config, pipeline, summary, ...) and the file formats of
:mod:`lmdetect.io`; it never imports :mod:`lmdetect.report`, :mod:`lmdetect.batch` or the
command line. Reports are handed in as renderers (:mod:`lmdetect.outputs`).
"""
