"""Reference answer for lesson 06b, when training fails."""


def diagnose(symptoms):
    """The cause of a failing run, named from its symptoms, and the changes that fix it.

    symptoms: a node_edu.models.practice.Symptoms. Returns (cause, changes), cause one of
    "tolerance", "learning rate", "scaling", "unstable start"; changes a dict of settings.
    """
    s = symptoms
    if s.solver_error is not None:  # the model's own solve blew up: the field pushes outwards
        return "unstable start", {"init": "zero"}  # start from a field at rest
    if s.saturated > 0.5 or not 0.1 < s.data_scale < 10:  # numbers far from 1 reach the tanh
        return "scaling", {"normalise": True}
    if abs(s.loss_tight - s.loss[-1]) > 0.5 * s.loss[-1] + 1e-9:  # solved tightly, another loss
        return "tolerance", {"rtol": 1e-6}
    if max(s.nfe) > 5 * s.nfe[0]:  # the solver's work exploded: steps too big for the field
        return "learning rate", {"lr": 0.01}
    return "learning rate", {"lr": 0.01}  # no clear sign: smaller steps are the safe guess
