"""One FlaskForm per screen."""
