"""Evaluation: metrics with bootstrap CIs, CV reports, the librosa + scikit-learn reference."""
