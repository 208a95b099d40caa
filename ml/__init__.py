"""Classification of columns: detectors, taxonomy, calibrated classifier."""
