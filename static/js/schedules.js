// The learning-rate schedules' two fields each, in the names of the API's TrainRequest: the
// period (updates) and the factor. The list of schedules is the server's (GET /api/v1/choices).

export const SCHEDULE_FIELDS = {
  step: { period: "step_size", factor: "gamma" }, // StepLR
  cosine: { period: "t_max", factor: "eta_min" }, // CosineAnnealingLR
};
