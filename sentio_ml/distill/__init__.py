"""Knowledge distillation of the pretrained taggers into Sentio's AST: corpus, crops, teacher targets, student."""
