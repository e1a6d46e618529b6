"""attnzoo-dsp: PolaFormer's polarity-aware linear attention and DSP-Attention (attnzoo plugin)."""
