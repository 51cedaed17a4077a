"""The lessons beside the models: the bigram table learned by gradient descent (`training`) and the
blog's continuous world, a joint density of GPA and months to a job (`continuous`)."""
