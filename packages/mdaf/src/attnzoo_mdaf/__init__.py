"""attnzoo-mdaf: DCNv3, Mamba4Rec (real selective scan), BST and MDAF gated fusion for CTR (attnzoo plugin)."""
