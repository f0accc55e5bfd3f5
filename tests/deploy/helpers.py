"""What the rebuild tests share: the guideline's two versions."""

OLD = "Metformin is the first-line drug for type 2 diabetes in this guideline."
NEW = "Insulin glargine is now the first-line drug for type 2 diabetes in this guideline."
