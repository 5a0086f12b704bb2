"""Training on engines beyond this process (Apache Spark); imported only by training code."""
